/* A filter whose behaviour is fixed when it is compiled: it adds `x-build: BUILD_ID` to every
 * response. The live-config tests build it twice with different -DBUILD_ID=... and rename the
 * second over the first, to see the gateway load the new image on a reload. */
#include "agw_plugin.h"

#ifndef BUILD_ID
#define BUILD_ID "one"
#endif

static const agw_host_api *host;
static int configured = 1; /* a non-NULL context */

static void *config_new(const agw_filter_type *type, agw_config_host *cfg, agw_str name, agw_str json) {
    (void)type; (void)cfg; (void)name; (void)json;
    return &configured;
}

static agw_status on_response_headers(void *config, agw_stream_host *stream, uint32_t end_of_stream) {
    (void)config; (void)end_of_stream;
    agw_str name = { "x-build", 7 }, value = { BUILD_ID, sizeof BUILD_ID - 1 };
    host->header_set(stream, AGW_MAP_RESPONSE, name, value);
    return AGW_STATUS_CONTINUE;
}

static const agw_filter_type build_type = {
    .struct_size = sizeof(agw_filter_type),
    .abi_major = AGW_ABI_MAJOR,
    .abi_minor = AGW_ABI_MINOR,
    .name = "build_id",
    .kind = AGW_KIND_FILTER,
    .config_new = config_new,
    .on_response_headers = on_response_headers,
};
static const agw_filter_type *const types[] = { &build_type };
static const agw_plugin plugin = {
    .struct_size = sizeof(agw_plugin),
    .abi_major = AGW_ABI_MAJOR,
    .abi_minor = AGW_ABI_MINOR,
    .name = "build_id",
    .version = BUILD_ID,
    .runtime = AGW_RUNTIME_C,
    .filter_type_count = 1,
    .filter_types = types,
};

AGW_EXPORT const agw_plugin *agw_plugin_entry_v1(const agw_host_api *h) {
    host = h;
    return &plugin;
}
