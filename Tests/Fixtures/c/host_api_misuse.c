/* A filter that calls host functions wrongly (NULL outputs, unknown enums and ids, the wrong
 * phase) and reports each agw_result in request header x-misuse. The gateway must answer every
 * call with an error code and keep serving. Built against agw_plugin.h alone. */
#include <stdio.h>
#include <string.h>
#include "agw_plugin.h"

static const agw_host_api *host;
static agw_str str(const char *s) { agw_str r = { s, strlen(s) }; return r; }

/* ABI 1.5: a labelled counter defined in config_new, and what a bad definition answers. */
static uint32_t family;
static int define_result = -1, define_bad_label = -1, define_conflict = -1;

static void *config_new(const agw_filter_type *t, agw_config_host *c, agw_str n, agw_str j) {
    (void)t; (void)n; (void)j;
    if (AGW_HAS_MEMBER(host, agw_host_api, trace_event_add)) {
        agw_str labels[2] = { str("route"), str("outcome") };
        agw_str bad[1] = { str("__reserved") };
        uint32_t other;
        define_result = host->metric_define_labelled(c, AGW_METRIC_COUNTER, str("agw_c_fixture_calls_total"),
                                                     str("Calls through the C misuse fixture"), labels, 2, &family);
        define_bad_label = host->metric_define_labelled(c, AGW_METRIC_COUNTER, str("agw_c_fixture_bad_total"), str(""), bad, 1, &other);
        define_conflict = host->metric_define_labelled(c, AGW_METRIC_GAUGE, str("agw_c_fixture_calls_total"), str(""), labels, 2, &other);
    }
    return (void *)&host;
}

static agw_status on_request_headers(void *ctx, agw_stream_host *s, uint32_t eos) {
    (void)ctx; (void)eos;
    char out[2048];
    size_t used = 0;
    agw_str value;
    size_t count;
    uint64_t id;
#define REPORT(name, call) used += (size_t)snprintf(out + used, sizeof out - used, "%s%s=%d", used ? "," : "", name, (int)(call))
    REPORT("header_get_bad_map", host->header_get(s, (agw_map)99, str("host"), 0, &value));
    REPORT("header_get_null_out", host->header_get(s, AGW_MAP_REQUEST, str("host"), 0, NULL));
    REPORT("header_count_null", host->header_count(s, AGW_MAP_REQUEST, NULL));
    REPORT("header_at_past_end", host->header_at(s, AGW_MAP_REQUEST, 1000, &value, &value));
    REPORT("header_set_response_early", host->header_set(s, AGW_MAP_RESPONSE, str("x"), str("y")));
    REPORT("header_set_crlf_value", host->header_set(s, AGW_MAP_REQUEST, str("x-evil"), str("a\r\nx-injected: 1")));
    REPORT("header_add_bad_name", host->header_add(s, AGW_MAP_REQUEST, str("bad name"), str("v")));
    agw_header split = { str("x-split"), str("a\nb") };
    REPORT("reply_header_with_newline", host->send_local_reply(s, 200, &split, 1, str("")));
    REPORT("body_get_in_headers", host->body_get(s, AGW_MAP_REQUEST, &value));
    REPORT("reply_bad_status", host->send_local_reply(s, 42, NULL, 3, str("")));
    REPORT("respond_from_filter", host->respond_headers(s, 200, NULL, 0, 1));
    REPORT("respond_body_from_filter", host->respond_body(s, str("x"), 1));
    REPORT("resume_inside_own_hook", host->resume(s)); /* allowed: pre-empts a STOP; cleared on CONTINUE */
    REPORT("kv_get_missing", host->kv_get(s, str("nope"), &value));
    REPORT("attribute_unknown", host->attribute_get(s, (agw_attribute)999, &value));
    REPORT("metric_add_unknown", host->metric_add(999999, 1));
    agw_scope_host *scope = host->stream_scope(s);
    agw_http_call_request bad_call = { 0 };
    REPORT("http_call_zero_size", host->http_call(scope, &bad_call, &id));
    agw_http_call_request bad_url = { sizeof bad_url, 0, str("GET"), str("not a url"), NULL, 0, str(""), 0 };
    REPORT("http_call_bad_url", host->http_call(scope, &bad_url, &id));
    REPORT("http_call_null_scope", host->http_call(NULL, &bad_url, &id));
    REPORT("timer_cancel_unknown", host->timer_cancel(scope, 424242));
    REPORT("process_write_unknown", host->process_write(scope, 424242, str("x")));
    agw_process_spec no_argv = { sizeof no_argv, 0, NULL, 2, NULL, 0, { NULL, 0 } };
    REPORT("process_spawn_null_argv", host->process_spawn(scope, &no_argv, &id));
    REPORT("rpc_reject_outside_hook", host->rpc_reject(s, -1, str("x")));
    REPORT("rpc_set_params_outside_hook", host->rpc_set_params(s, str("{}")));
    REPORT("rpc_resume_nothing_paused", host->rpc_resume(s, AGW_RPC_ALLOW, 0, str("")));
    if (AGW_HAS_MEMBER(host, agw_host_api, rpc_subscriber_count)) {
        REPORT("rpc_subscriber_count_null_out", host->rpc_subscriber_count(s, NULL));
    }
    if (AGW_HAS_MEMBER(host, agw_host_api, rpc_rejection_response)) {
        agw_header retry = { str("retry-after"), str("1") };
        uint32_t status;
        const agw_header *headers;
        REPORT("rpc_reject_with_response_outside_hook", host->rpc_reject_with_response(s, -1, str("x"), 429, &retry, 1));
        REPORT("rpc_rejection_response_null_out", host->rpc_rejection_response(s, NULL, &headers, &count));
        REPORT("rpc_rejection_response_nothing_rejected", host->rpc_rejection_response(s, &status, &headers, &count));
        REPORT("config_directory_null_out", host->config_directory(NULL, &value));
    }
    if (AGW_HAS_MEMBER(host, agw_host_api, trace_event_add)) {
        agw_str values[2] = { str("r"), str("ok") };
        uint32_t metric;
        REPORT("labelled_define", define_result);
        REPORT("labelled_define_bad_label", define_bad_label);
        REPORT("labelled_define_other_kind", define_conflict);
        int series = host->metric_series(family, values, 2, &metric);
        REPORT("labelled_series", series);
        REPORT("labelled_add", series == AGW_OK ? host->metric_add(metric, 1) : series);
        REPORT("labelled_series_wrong_count", host->metric_series(family, values, 1, &metric));
        REPORT("labelled_series_unknown_family", host->metric_series(999999, values, 2, &metric));
        REPORT("labelled_define_outside_config_new", host->metric_define_labelled(NULL, AGW_METRIC_COUNTER, str("x"), str(""), values, 1, &metric));
        REPORT("annotate_empty_key", host->annotate(s, str(""), str("v")));
        REPORT("annotate_unrecorded", host->annotate(s, str("k"), str("v")));
        REPORT("annotation_wanted_unrecorded", (int)host->annotation_wanted(s, str("")));
        agw_str state;
        REPORT("trace_context_get_no_trace", host->trace_context_get(s, &value, &state));
        REPORT("trace_context_get_null_out", host->trace_context_get(s, NULL, &state));
        REPORT("trace_context_adopt_no_tracing", host->trace_context_adopt(s, str("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), str("")));
        REPORT("trace_event_add_not_sampled", host->trace_event_add(s, str("e"), NULL, 0));
        REPORT("attribute_tracing_off", host->attribute_get(s, AGW_ATTR_TRACING, &value));
        uint64_t span;
        REPORT("trace_span_start_not_sampled", host->trace_span_start(s, str("leg"), &span, &value));
        REPORT("trace_span_start_null_out", host->trace_span_start(s, str("leg"), NULL, &value));
        REPORT("trace_span_end_unknown", host->trace_span_end(s, 12345, 0, str("")));
    }
    if (AGW_HAS_MEMBER(host, agw_host_api, annotate_pairs)) {
        agw_header pairs[2] = { { str("k"), str("v") }, { str(""), str("v") } };
        REPORT("annotate_pairs_empty_key", host->annotate_pairs(s, pairs, 2));
        REPORT("annotate_pairs_null", host->annotate_pairs(s, NULL, 1));
        REPORT("annotate_pairs_unrecorded", host->annotate_pairs(s, pairs, 1));
    }
    agw_rpc_message message = { sizeof message, AGW_RPC_PROTOCOL_MCP, AGW_RPC_CLIENT_TO_SERVER, AGW_RPC_REQUEST,
                                { 0 }, str("ping"), { 0 }, { 0 }, { 0 }, { 0 }, { 0 } };
    agw_rpc_verdict verdict = { .struct_size = sizeof verdict };
    REPORT("rpc_publish_from_filter", host->rpc_publish(s, &message, 1, &verdict));
    /* ABI 1.3: an out-struct is written no further than the caller's struct_size. */
    agw_rpc_verdict small;
    memset(&small, 0, sizeof small);
    small.struct_size = (uint32_t)offsetof(agw_rpc_verdict, error_message);
    small.error_message.len = 777;
    REPORT("rpc_last_verdict_small_struct", host->rpc_last_verdict(s, &small) == AGW_OK && small.error_message.len == 777
                                            && small.struct_size == offsetof(agw_rpc_verdict, error_message) ? 0 : 1);
    REPORT("scheduler_new_null_is_null", host->scheduler_new(NULL) == NULL);
    host->scheduler_post(NULL, 1);
    host->scheduler_free(NULL);
    host->log(NULL, (agw_log_level)99, str("misuse fixture: an unknown log level"));
    REPORT("stream_scope_null_is_null", host->stream_scope(NULL) == NULL);
    (void)count;
#undef REPORT
    host->header_set(s, AGW_MAP_REQUEST, str("x-misuse"), (agw_str){ out, used });
    return AGW_STATUS_CONTINUE;
}

static const agw_filter_type type = {
    .struct_size = sizeof(agw_filter_type), .abi_major = AGW_ABI_MAJOR, .abi_minor = AGW_ABI_MINOR,
    .name = "misuse", .kind = AGW_KIND_FILTER, .config_new = config_new, .on_request_headers = on_request_headers,
};
static const agw_filter_type *const types[] = { &type };
static const agw_plugin plugin = {
    .struct_size = sizeof(agw_plugin), .abi_major = AGW_ABI_MAJOR, .abi_minor = AGW_ABI_MINOR,
    .name = "misuse", .version = "0", .runtime = AGW_RUNTIME_C, .filter_type_count = 1, .filter_types = types,
};

AGW_EXPORT const agw_plugin *agw_plugin_entry_v1(const agw_host_api *h) {
    host = h;
    return &plugin;
}
