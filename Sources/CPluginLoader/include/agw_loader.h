/*
 * agw_loader.h — loads plugin images: dlopen, entry lookup, version, size and runtime checks.
 * Used by the host only. Every failure comes back as a message naming the file and the reason.
 */
#ifndef AGW_LOADER_H
#define AGW_LOADER_H

#include <stddef.h>
#include "agw_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A loaded, checked plugin image. The image is never unloaded. */
typedef struct agw_loaded_plugin {
    void *handle;
    const agw_plugin *plugin;
} agw_loaded_plugin;

/** Why agw_loader_open failed. */
typedef enum agw_load_error_code {
    AGW_LOAD_OK = 0,
    AGW_LOAD_OPEN_FAILED = 1,      /* dlopen failed: missing file, not an ELF object, missing library */
    AGW_LOAD_NO_ENTRY = 2,         /* no agw_plugin_entry_v1 */
    AGW_LOAD_WRONG_MAJOR = 3,      /* the image only exports another major's entry, or its descriptor says so */
    AGW_LOAD_ENTRY_REFUSED = 4,    /* the entry returned NULL */
    AGW_LOAD_STRUCT_TOO_SMALL = 5, /* a descriptor is smaller than ABI 1.0's */
    AGW_LOAD_FOREIGN_RUNTIME = 6,  /* a Swift plugin built by another toolchain */
    AGW_LOAD_INVALID = 7           /* a required field is missing or out of range */
} agw_load_error_code;

/**
 * Opens path with RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE, finds agw_plugin_entry_v1, calls it with
 * host and checks what it returns. host_runtime is the host's own "swift:<compiler identity>".
 * On failure returns the code and writes a one-line message (naming path) into error.
 */
agw_load_error_code agw_loader_open(const char *path, const agw_host_api *host, const char *host_runtime,
                                    agw_loaded_plugin *out, char *error, size_t error_size);

/** The runtime identity of the code that compiled the loader: "swift:" + compiler identity. */
const char *agw_loader_host_runtime(void);

#ifdef __cplusplus
}
#endif

#endif
