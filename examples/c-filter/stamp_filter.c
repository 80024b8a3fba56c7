/* A gateway filter in plain C, built against agw_plugin.h alone (see README: "Writing a plugin in C"):
 *   cc -std=c99 -shared -fPIC -fvisibility=hidden -I Sources/PluginABI/include stamp_filter.c -o libstamp_filter.so
 * Adds `x-stamp: <value>` to request and response; answers 403 to requests with `x-block`.
 * Config: { value = "..." } (at most 127 bytes, no escapes). */
#include <stdlib.h>
#include <string.h>
#include "agw_plugin.h"

static const agw_host_api *host;
typedef struct { char value[128]; size_t length; } stamp_config;

static agw_str str(const char *s) { agw_str r = { s, strlen(s) }; return r; }

/* Finds `needle` in the first `length` bytes of `haystack`. The host's strings are {pointer,
 * length} and not NUL-terminated, so the C string functions (strstr, strchr) must not touch them. */
static const char *find(const char *haystack, size_t length, const char *needle, size_t needle_length) {
    for (size_t i = 0; needle_length <= length && i <= length - needle_length; i++)
        if (memcmp(haystack + i, needle, needle_length) == 0) return haystack + i;
    return NULL;
}

/* Reads {"value":"..."} out of the config table (JSON text). A real plugin would use a JSON parser. */
static int read_value(agw_str json, stamp_config *config) {
    const char *end = json.ptr + json.len;
    const char *key = json.ptr ? find(json.ptr, json.len, "\"value\"", 7) : NULL;
    if (key == NULL) return 0;
    const char *open = memchr(key + 7, '"', (size_t)(end - (key + 7)));
    if (open == NULL) return 0;
    const char *close = memchr(open + 1, '"', (size_t)(end - (open + 1)));
    if (close == NULL || (size_t)(close - open - 1) >= sizeof config->value) return 0;
    config->length = (size_t)(close - open - 1);
    memcpy(config->value, open + 1, config->length);
    return 1;
}

static void *config_new(const agw_filter_type *type, agw_config_host *cfg, agw_str name, agw_str json) {
    (void)type; (void)name;
    stamp_config *config = calloc(1, sizeof *config);
    if (config == NULL || !read_value(json, config)) {
        host->config_set_error(cfg, str("config needs value = \"...\" (at most 127 bytes)"));
        free(config);
        return NULL;
    }
    return config;
}

static void config_destroy(void *config) { free(config); }
static void *stream_new(void *config, agw_stream_host *stream) { (void)stream; return config; } /* no per-stream state */

static agw_str stamp(const void *config) {
    const stamp_config *c = config;
    agw_str value = { c->value, c->length };
    return value;
}

static agw_status on_request_headers(void *config, agw_stream_host *stream, uint32_t end_of_stream) {
    (void)end_of_stream;
    agw_str value;
    if (host->header_get(stream, AGW_MAP_REQUEST, str("x-block"), 0, &value) == AGW_OK) {
        host->send_local_reply(stream, 403, NULL, 0, str("blocked by stamp_filter\n"));
        return AGW_STATUS_REPLIED;
    }
    host->header_set(stream, AGW_MAP_REQUEST, str("x-stamp"), stamp(config));
    return AGW_STATUS_CONTINUE;
}

static agw_status on_response_headers(void *config, agw_stream_host *stream, uint32_t end_of_stream) {
    (void)end_of_stream;
    host->header_set(stream, AGW_MAP_RESPONSE, str("x-stamp"), stamp(config));
    return AGW_STATUS_CONTINUE;
}

/* Hooks are named, so the struct can grow (and hooks the filter lacks stay NULL). */
static const agw_filter_type stamp_type = {
    .struct_size = sizeof(agw_filter_type),
    .abi_major = AGW_ABI_MAJOR,
    .abi_minor = AGW_ABI_MINOR,
    .name = "stamp",
    .kind = AGW_KIND_FILTER,
    .config_new = config_new,
    .config_destroy = config_destroy,
    .stream_new = stream_new,
    .on_request_headers = on_request_headers,
    .on_response_headers = on_response_headers,
};
static const agw_filter_type *const types[] = { &stamp_type };
static const agw_plugin plugin = {
    .struct_size = sizeof(agw_plugin),
    .abi_major = AGW_ABI_MAJOR,
    .abi_minor = AGW_ABI_MINOR,
    .name = "stamp",
    .version = "1.0.0",
    .runtime = AGW_RUNTIME_C,
    .filter_type_count = 1,
    .filter_types = types,
};

AGW_EXPORT const agw_plugin *agw_plugin_entry_v1(const agw_host_api *h) {
    host = h;
    return &plugin;
}
