/* One C plugin source, built once per -D case by the tests, to check how the loader and the
 * chain treat plugins that are broken in one specific way. Built against agw_plugin.h alone. */
#include <string.h>
#include "agw_plugin.h"

static const agw_host_api *host;

static agw_str str(const char *s) { agw_str r = { s, strlen(s) }; return r; }

static void *config_new(const agw_filter_type *type, agw_config_host *cfg, agw_str name, agw_str json) {
    (void)type; (void)name; (void)json;
#if defined(CONFIG_NULL)
    host->config_set_error(cfg, str("the fixture refuses every config"));
    return NULL;
#else
    (void)cfg;
    return (void *)&host;
#endif
}

static agw_status on_request_headers(void *ctx, agw_stream_host *s, uint32_t eos) {
    (void)ctx; (void)eos;
    host->header_set(s, AGW_MAP_REQUEST, str("x-c-fixture"), str("seen"));
#if defined(UNKNOWN_STATUS)
    return (agw_status)77;
#else
    return AGW_STATUS_CONTINUE;
#endif
}

static agw_filter_type type;
static const agw_filter_type *types[] = { &type };
static agw_plugin plugin;

#if defined(NO_ENTRY)
AGW_EXPORT const agw_plugin *not_the_entry(const agw_host_api *h);
AGW_EXPORT const agw_plugin *not_the_entry(const agw_host_api *h) {
#elif defined(WRONG_MAJOR_SYMBOL)
AGW_EXPORT const agw_plugin *agw_plugin_entry_v2(const agw_host_api *h);
AGW_EXPORT const agw_plugin *agw_plugin_entry_v2(const agw_host_api *h) {
#else
AGW_EXPORT const agw_plugin *agw_plugin_entry_v1(const agw_host_api *h) {
#endif
    host = h;
#if defined(ENTRY_NULL)
    host->log(NULL, AGW_LOG_ERROR, str("fixture: refusing to load"));
    return NULL;
#endif
    type = (agw_filter_type){ sizeof type, AGW_ABI_MAJOR, AGW_ABI_MINOR, "fixture", AGW_KIND_FILTER, 0, NULL,
                              config_new, NULL, NULL, NULL, NULL, on_request_headers,
                              NULL, NULL, NULL, NULL, NULL, NULL };
    plugin = (agw_plugin){ sizeof plugin, AGW_ABI_MAJOR, AGW_ABI_MINOR, "fixture", "0", AGW_RUNTIME_C, 1, types };
#if defined(WRONG_MAJOR_FIELD)
    plugin.abi_major = 2;
#endif
#if defined(SMALL_STRUCT)
    type.struct_size = 24;
#endif
#if defined(FOREIGN_SWIFT)
    plugin.runtime = "swift:Clang 1.0 (some other toolchain)";
#endif
    return &plugin;
}
