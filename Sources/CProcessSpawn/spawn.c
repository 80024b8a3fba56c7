#define _GNU_SOURCE
#include "agw_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

static void close_all(int fds[6]) {
    for (int i = 0; i < 6; i++) {
        if (fds[i] >= 0) close(fds[i]);
    }
}

int agw_spawn(const char *file, char *const argv[], char *const envp[], const char *cwd,
              pid_t *pid, int *stdin_fd, int *stdout_fd, int *stderr_fd) {
    int fds[6] = {-1, -1, -1, -1, -1, -1}; /* in r/w, out r/w, err r/w */
    if (pipe2(&fds[0], O_CLOEXEC) != 0 || pipe2(&fds[2], O_CLOEXEC) != 0 || pipe2(&fds[4], O_CLOEXEC) != 0) {
        int error = errno;
        close_all(fds);
        return error;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
    posix_spawn_file_actions_adddup2(&actions, fds[3], 1);
    posix_spawn_file_actions_adddup2(&actions, fds[5], 2);
    /* Nothing else of the gateway leaks into the child: listening and client sockets are not all
     * close-on-exec (NIO's are not), and a child holding a listener keeps the port bound. */
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (cwd != NULL) posix_spawn_file_actions_addchdir_np(&actions, cwd);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    /* The child starts with default signal dispositions and an empty mask, whatever the gateway set. */
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setsigmask(&attributes, &none);
    /* Its own process group, so stopping it reaches its children too (kill(-pid, …)). */
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
    int result = posix_spawnp(pid, file, &actions, &attributes, argv, envp);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[0]);
    close(fds[3]);
    close(fds[5]);
    fds[0] = fds[3] = fds[5] = -1;
    if (result != 0) {
        close_all(fds);
        return result;
    }
    *stdin_fd = fds[1];
    *stdout_fd = fds[2];
    *stderr_fd = fds[4];
    return 0;
}
