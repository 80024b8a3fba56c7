/* Times one plugin hook crossing: dlopen a plugin (C or Swift), hand it a fake host table, create a
 * config and a stream, then call on_request_headers N times. Build and run: see bench/run.sh.
 * Usage: hook_crossing PLUGIN.so [ITERATIONS] → prints "ns_per_crossing <n>". */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "agw_plugin.h"

static agw_scope_host *scope(void *x) { (void)x; return NULL; }
static void config_set_error(agw_config_host *c, agw_str m) { (void)c; fprintf(stderr, "config error: %.*s\n", (int)m.len, m.ptr); }

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s PLUGIN.so [ITERATIONS]\n", argv[0]); return 2; }
    long iterations = argc > 2 ? atol(argv[2]) : 10000000;
    void *image = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!image) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    agw_plugin_entry_v1_fn entry;
    *(void **)(&entry) = dlsym(image, AGW_PLUGIN_ENTRY_SYMBOL);
    static agw_host_api host; /* every function NULL except the few config_new may call */
    host.struct_size = sizeof host; host.abi_major = AGW_ABI_MAJOR; host.abi_minor = AGW_ABI_MINOR;
    host.stream_scope = (agw_scope_host *(*)(agw_stream_host *))scope;
    host.config_scope = (agw_scope_host *(*)(agw_config_host *))scope;
    host.config_set_error = config_set_error;
    const agw_plugin *plugin = entry ? entry(&host) : NULL;
    if (!plugin) { fprintf(stderr, "no plugin\n"); return 1; }
    const agw_filter_type *type = plugin->filter_types[0];
    agw_str name = { "bench", 5 }, json = { "{}", 2 };
    agw_config_host *cfg = (agw_config_host *)&host;       /* opaque to the plugin */
    agw_stream_host *stream = (agw_stream_host *)&host;
    void *config = type->config_new(type, cfg, name, json);
    void *ctx = type->stream_new ? type->stream_new(config, stream) : config;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    agw_status sum = 0;
    for (long i = 0; i < iterations; i++) sum += type->on_request_headers(ctx, stream, 1);
    clock_gettime(CLOCK_MONOTONIC, &end);
    double ns = (double)(end.tv_sec - start.tv_sec) * 1e9 + (double)(end.tv_nsec - start.tv_nsec);
    printf("ns_per_crossing %.1f (%s, status sum %d)\n", ns / (double)iterations, plugin->name, (int)sum);
    return 0;
}
