/* A gateway filter in plain C, built against agw_plugin.h alone (see README: "Writing a plugin in C"):
 *   cc -std=c99 -shared -fPIC -fvisibility=hidden -I Sources/PluginABI/include stamp_filter.c -o libstamp_filter.so
 * Adds `x-stamp: <value>` to request and response; answers 403 to requests with `x-block`. */
#include <stdlib.h>
#include <string.h>
#include "agw_plugin.h"

static const agw_host_api *host;
typedef struct { char value[128]; } stamp_config;

static agw_str str(const char *s) { agw_str r = { s, strlen(s) }; return r; }

static void *config_new(const agw_filter_type *type, agw_config_host *cfg, agw_str name, agw_str json) {
    (void)type; (void)name;
    stamp_config *c = calloc(1, sizeof *c);
    const char *key = json.ptr ? strstr(json.ptr, "\"value\"") : NULL; /* minimal: {"value":"..."} */
    const char *start = key ? strchr(key + 7, '"') : NULL;
    const char *end = start ? strchr(start + 1, '"') : NULL;
    if (c == NULL || end == NULL || (size_t)(end - start) > sizeof c->value) {
        host->config_set_error(cfg, str("config needs value = \"...\" (at most 127 bytes)"));
        free(c);
        return NULL;
    }
    memcpy(c->value, start + 1, (size_t)(end - start - 1));
    return c;
}

static void config_destroy(void *c) { free(c); }
static void *stream_new(void *c, agw_stream_host *s) { (void)s; return c; } /* no per-stream state */

static agw_status on_request_headers(void *c, agw_stream_host *s, uint32_t eos) {
    (void)eos;
    agw_str v;
    if (host->header_get(s, AGW_MAP_REQUEST, str("x-block"), 0, &v) == AGW_OK) {
        host->send_local_reply(s, 403, NULL, 0, str("blocked by stamp_filter\n"));
        return AGW_STATUS_REPLIED;
    }
    host->header_set(s, AGW_MAP_REQUEST, str("x-stamp"), str(((stamp_config *)c)->value));
    return AGW_STATUS_CONTINUE;
}

static agw_status on_response_headers(void *c, agw_stream_host *s, uint32_t eos) {
    (void)eos;
    host->header_set(s, AGW_MAP_RESPONSE, str("x-stamp"), str(((stamp_config *)c)->value));
    return AGW_STATUS_CONTINUE;
}

static agw_filter_type stamp_type;
static const agw_filter_type *types[] = { &stamp_type };
static agw_plugin plugin;

AGW_EXPORT const agw_plugin *agw_plugin_entry_v1(const agw_host_api *h) {
    host = h;
    stamp_type = (agw_filter_type){ sizeof stamp_type, AGW_ABI_MAJOR, AGW_ABI_MINOR, "stamp", AGW_KIND_FILTER, 0, NULL,
        config_new, config_destroy, NULL, stream_new, NULL, on_request_headers, NULL, on_response_headers, NULL, NULL, NULL, NULL };
    plugin = (agw_plugin){ sizeof plugin, AGW_ABI_MAJOR, AGW_ABI_MINOR, "stamp", "1.0.0", AGW_RUNTIME_C, 1, types };
    return &plugin;
}
