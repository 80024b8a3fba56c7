/* valgrind 3.24 writes into the mask passed to sigsuspend; libdispatch passes a const one in
 * read-only memory. Copy it to the stack first (profiling aid only, never shipped). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
int sigsuspend(const sigset_t *mask) {
    static int (*real)(const sigset_t *);
    if (!real) real = (int (*)(const sigset_t *))dlsym(RTLD_NEXT, "sigsuspend");
    sigset_t copy = *mask;
    return real(&copy);
}
