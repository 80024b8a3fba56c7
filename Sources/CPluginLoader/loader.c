#define _GNU_SOURCE
#include "agw_loader.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The sizes of ABI 1.0's structs. Later minors append members; anything at least this big loads. */
#define AGW_FILTER_TYPE_SIZE_1_0 (offsetof(agw_filter_type, on_rpc_message) + sizeof(void (*)(void)))
#define AGW_PLUGIN_SIZE_1_0 (offsetof(agw_plugin, filter_types) + sizeof(void *))

static agw_load_error_code fail(char *error, size_t error_size, agw_load_error_code code, const char *fmt, ...) {
    if (error != NULL && error_size > 0) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(error, error_size, fmt, args);
        va_end(args);
    }
    return code;
}

const char *agw_loader_host_runtime(void) {
    static char runtime[256];
    if (runtime[0] == '\0') {
        snprintf(runtime, sizeof runtime, "swift:%s", agw_compiler_identity());
    }
    return runtime;
}

/* Finds another major's entry symbol, so the error can say which major the image was built for. */
static int other_major(void *handle) {
    char name[64];
    for (int major = 2; major <= 16; major++) {
        snprintf(name, sizeof name, "agw_plugin_entry_v%d", major);
        if (dlsym(handle, name) != NULL) return major;
    }
    return 0;
}

static agw_load_error_code check_filter_type(const char *path, const agw_filter_type *type, size_t index,
                                             char *error, size_t error_size) {
    if (type->struct_size < AGW_FILTER_TYPE_SIZE_1_0) {
        return fail(error, error_size, AGW_LOAD_STRUCT_TOO_SMALL,
                    "%s: filter type #%zu is %u bytes, smaller than ABI %d.0's agw_filter_type (%zu bytes); "
                    "rebuild it against this gateway's agw_plugin.h",
                    path, index, type->struct_size, AGW_ABI_MAJOR, (size_t)AGW_FILTER_TYPE_SIZE_1_0);
    }
    if (type->abi_major != AGW_ABI_MAJOR) {
        return fail(error, error_size, AGW_LOAD_WRONG_MAJOR,
                    "%s: filter type #%zu was built for ABI major %u; this gateway speaks major %d",
                    path, index, type->abi_major, AGW_ABI_MAJOR);
    }
    if (type->name == NULL || type->name[0] == '\0') {
        return fail(error, error_size, AGW_LOAD_INVALID, "%s: filter type #%zu has no name", path, index);
    }
    if (type->config_new == NULL) {
        return fail(error, error_size, AGW_LOAD_INVALID, "%s: filter type '%s' has no config_new", path, type->name);
    }
    if (type->kind != AGW_KIND_FILTER && type->kind != AGW_KIND_HANDLER) {
        return fail(error, error_size, AGW_LOAD_INVALID, "%s: filter type '%s' has unknown kind %d",
                    path, type->name, (int)type->kind);
    }
    return AGW_LOAD_OK;
}

agw_load_error_code agw_loader_open(const char *path, const agw_host_api *host, const char *host_runtime,
                                    agw_loaded_plugin *out, char *error, size_t error_size) {
    memset(out, 0, sizeof *out);
    dlerror();
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (handle == NULL) {
        const char *reason = dlerror();
        return fail(error, error_size, AGW_LOAD_OPEN_FAILED, "cannot load plugin %s: %s", path,
                    reason ? reason : "unknown dlopen error");
    }
    /* From here on the image stays loaded: a Swift image must never be dlclose'd, and a C image's
     * constructors may already have run. A refused image costs only its mapping. */
    agw_plugin_entry_v1_fn entry;
    *(void **)(&entry) = dlsym(handle, AGW_PLUGIN_ENTRY_SYMBOL); /* POSIX: dlsym returns functions as void * */
    if (entry == NULL) {
        int major = other_major(handle);
        if (major != 0) {
            return fail(error, error_size, AGW_LOAD_WRONG_MAJOR,
                        "%s was built for plugin ABI major %d (exports agw_plugin_entry_v%d); this gateway "
                        "speaks major %d: rebuild the plugin against this gateway's agw_plugin.h",
                        path, major, major, AGW_ABI_MAJOR);
        }
        return fail(error, error_size, AGW_LOAD_NO_ENTRY,
                    "%s exports no %s: it is not an Agent Gateway plugin, or its entry is not exported "
                    "(C: mark it AGW_EXPORT; Swift: make it public and @c(agw_plugin_entry_v1))",
                    path, AGW_PLUGIN_ENTRY_SYMBOL);
    }
    const agw_plugin *plugin = entry(host);
    if (plugin == NULL) {
        return fail(error, error_size, AGW_LOAD_ENTRY_REFUSED,
                    "%s: the plugin's entry returned NULL (it refused to load; its log lines above say why)", path);
    }
    if (plugin->struct_size < AGW_PLUGIN_SIZE_1_0) {
        return fail(error, error_size, AGW_LOAD_STRUCT_TOO_SMALL,
                    "%s: plugin descriptor is %u bytes, smaller than ABI %d.0's agw_plugin (%zu bytes)",
                    path, plugin->struct_size, AGW_ABI_MAJOR, (size_t)AGW_PLUGIN_SIZE_1_0);
    }
    if (plugin->abi_major != AGW_ABI_MAJOR) {
        return fail(error, error_size, AGW_LOAD_WRONG_MAJOR,
                    "%s was built for plugin ABI major %u; this gateway speaks major %d: rebuild the plugin "
                    "against this gateway's agw_plugin.h",
                    path, plugin->abi_major, AGW_ABI_MAJOR);
    }
    if (plugin->name == NULL || plugin->name[0] == '\0') {
        return fail(error, error_size, AGW_LOAD_INVALID, "%s: plugin descriptor has no name", path);
    }
    const char *runtime = plugin->runtime ? plugin->runtime : "";
    if (strncmp(runtime, "swift:", 6) == 0 && host_runtime != NULL && strcmp(runtime, host_runtime) != 0) {
        return fail(error, error_size, AGW_LOAD_FOREIGN_RUNTIME,
                    "%s is a Swift plugin built by another toolchain (%s); this gateway was built by %s. "
                    "Swift plugins must be built by the gateway's own toolchain: rebuild it",
                    path, runtime + 6, host_runtime + (strncmp(host_runtime, "swift:", 6) == 0 ? 6 : 0));
    }
    if (plugin->filter_type_count == 0 || plugin->filter_types == NULL) {
        return fail(error, error_size, AGW_LOAD_INVALID, "%s: plugin '%s' declares no filter types", path, plugin->name);
    }
    for (size_t i = 0; i < plugin->filter_type_count; i++) {
        if (plugin->filter_types[i] == NULL) {
            return fail(error, error_size, AGW_LOAD_INVALID, "%s: filter type #%zu is NULL", path, i);
        }
        agw_load_error_code code = check_filter_type(path, plugin->filter_types[i], i, error, error_size);
        if (code != AGW_LOAD_OK) return code;
    }
    out->handle = handle;
    out->plugin = plugin;
    return AGW_LOAD_OK;
}
