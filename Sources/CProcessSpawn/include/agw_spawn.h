/* agw_spawn.h — starts a child process with its stdin/stdout/stderr on pipes (host-internal). */
#ifndef AGW_SPAWN_H
#define AGW_SPAWN_H

#include <sys/types.h>

/**
 * posix_spawnp(file, argv, envp) with the child's stdin, stdout and stderr on fresh pipes and
 * working directory cwd (NULL = unchanged), in a new process group whose id is the child's pid.
 * The parent's ends come back close-on-exec.
 * Returns 0, or an errno value (nothing is left open on failure).
 */
int agw_spawn(const char *file, char *const argv[], char *const envp[], const char *cwd,
              pid_t *pid, int *stdin_fd, int *stdout_fd, int *stderr_fd);

#endif
