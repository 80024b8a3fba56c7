/* A filter built against the ABI 1.0 header (Tests/Fixtures/c/abi-1.0/agw_plugin.h, the header as
 * released on 2026-11-25), never rebuilt: the host of today must load it and keep every promise
 * 1.0 made. It stamps what it sees of the host, reads a verdict with the 1.0 layout (leaving
 * struct_size unset, as a 1.0 caller could), and rejects MCP tools named in its config. */
#include <stdio.h>
#include <string.h>
#include "agw_plugin.h"

#if AGW_ABI_MINOR != 0
#error "this fixture must be built against the 1.0 header"
#endif

static const agw_host_api *host;
static agw_str str(const char *s) { agw_str r = { s, strlen(s) }; return r; }

static void *config_new(const agw_filter_type *t, agw_config_host *c, agw_str n, agw_str j) {
    (void)t; (void)c; (void)n; (void)j;
    return (void *)&host;
}

static agw_status on_request_headers(void *ctx, agw_stream_host *s, uint32_t eos) {
    (void)ctx; (void)eos;
    char text[128];
    int length = snprintf(text, sizeof text, "host %u.%u, table %u bytes", (unsigned)host->abi_major,
                          (unsigned)host->abi_minor, (unsigned)host->struct_size);
    host->header_set(s, AGW_MAP_REQUEST, str("x-abi-1-0"), (agw_str){ text, (size_t)length });
    agw_rpc_verdict verdict;
    memset(&verdict, 0xAB, sizeof verdict); /* garbage where a 1.3 caller puts struct_size */
    agw_result result = host->rpc_last_verdict(s, &verdict);
    length = snprintf(text, sizeof text, "%d %u", (int)result, (unsigned)verdict.struct_size);
    host->header_set(s, AGW_MAP_REQUEST, str("x-abi-1-0-verdict"), (agw_str){ text, (size_t)length });
    return AGW_STATUS_CONTINUE;
}

static agw_status on_rpc_message(void *ctx, agw_stream_host *s, const agw_rpc_message *message) {
    (void)ctx;
    if (message->kind == AGW_RPC_REQUEST && message->target.len == 5 && memcmp(message->target.ptr, "sleep", 5) == 0) {
        host->rpc_reject(s, -32001, str("no sleeping (a filter built for ABI 1.0)"));
        return AGW_STATUS_REPLIED;
    }
    return AGW_STATUS_CONTINUE;
}

static agw_filter_type type;
static const agw_filter_type *types[] = { &type };
static agw_plugin plugin;

AGW_EXPORT const agw_plugin *agw_plugin_entry_v1(const agw_host_api *h) {
    host = h;
    /* Positional, as 1.0-era plugins were written: the layout must never change under them. */
    type = (agw_filter_type){ sizeof type, AGW_ABI_MAJOR, AGW_ABI_MINOR, "old", AGW_KIND_FILTER, 0, NULL,
                              config_new, NULL, NULL, NULL, NULL, on_request_headers,
                              NULL, NULL, NULL, NULL, NULL, on_rpc_message };
    plugin = (agw_plugin){ sizeof plugin, AGW_ABI_MAJOR, AGW_ABI_MINOR, "old", "1.0.0", AGW_RUNTIME_C, 1, types };
    return &plugin;
}
