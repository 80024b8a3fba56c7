/* A C filter that does nothing but cross the ABI: the C half of the bench's no-op chain. */
#include <stddef.h>
#include "agw_plugin.h"

static void *config_new(const agw_filter_type *t, agw_config_host *c, agw_str n, agw_str j) {
    (void)t; (void)c; (void)n; (void)j;
    return (void *)1;
}
static agw_status on_request_headers(void *s, agw_stream_host *h, uint32_t e) { (void)s; (void)h; (void)e; return AGW_STATUS_CONTINUE; }
static agw_status on_response_headers(void *s, agw_stream_host *h, uint32_t e) { (void)s; (void)h; (void)e; return AGW_STATUS_CONTINUE; }

static agw_filter_type type;
static const agw_filter_type *types[] = { &type };
static agw_plugin plugin;

AGW_EXPORT const agw_plugin *agw_plugin_entry_v1(const agw_host_api *host) {
    (void)host;
    type = (agw_filter_type){ sizeof type, AGW_ABI_MAJOR, AGW_ABI_MINOR, "noop", AGW_KIND_FILTER, 0, NULL, config_new, NULL, NULL,
                              NULL, NULL, on_request_headers, NULL, on_response_headers, NULL, NULL, NULL, NULL };
    plugin = (agw_plugin){ sizeof plugin, AGW_ABI_MAJOR, AGW_ABI_MINOR, "noop-c", "1.0.0", AGW_RUNTIME_C, 1, types };
    return &plugin;
}
