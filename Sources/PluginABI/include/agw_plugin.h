/*
 * agw_plugin.h — the Agent Gateway plugin ABI, major version 1.
 *
 * This header IS the ABI (one file by design, hence its length: a plugin includes nothing else).
 * A plugin written in C needs nothing else:
 *     cc -std=c99 -shared -fPIC -fvisibility=hidden -I Sources/PluginABI/include my_filter.c -o libmy_filter.so
 *
 * ---------------------------------------------------------------------------------------------
 * CHANGELOG (append a line for every change; within major 1 every change is additive)
 *   1.0  2026-11-25  First stable release: entry symbol agw_plugin_entry_v1, agw_plugin,
 *                    agw_filter_type, agw_host_api, HTTP hooks, protocol (JSON-RPC) message hook,
 *                    events (scheduler, timers, HTTP calls with streamed bodies, child processes).
 *                    scheduler_new may be called from any thread (config_new starts config-scope work).
 *   1.1  2026-11-25  agw_host_api.rpc_subscriber_count: how many filters on a stream's route have
 *                    on_rpc_message, so a handler can skip publishing what nobody reads.
 *   1.2  2026-12-01  agw_host_api.rpc_reject_with_response (a filter rejecting a message asks for an
 *                    HTTP status and response headers, e.g. 429 + Retry-After) and
 *                    rpc_rejection_response (the handler reads them to frame its error reply);
 *                    config_directory (where relative paths in a filter's config table resolve).
 *   1.3  2026-12-01  Out-structs can grow: the host writes at most the caller's struct_size bytes
 *                    of a struct it fills in (agw_rpc_verdict: rpc_publish, rpc_last_verdict) and
 *                    sets struct_size to what it wrote; a caller before 1.3 that left it 0 gets
 *                    the 1.0 size. A handler's on_request_headers runs before the request body is
 *                    read (the handler is the chain's last stage), and the body is buffered only
 *                    when a stage implements on_request_body. Documented: agw_rpc_message.target is
 *                    the target's own name (the upstream server's, before any gateway prefix).
 *                    Documented: AGW_CALL_FAILED_CANCELLED is reserved; a cancelled call delivers
 *                    no event at all.
 *   1.4  2026-12-01  AGW_ATTR_ROUTE_PATH_PREFIX: the path the route matches on, so a handler mounted
 *                    under a prefix builds its own URLs (an older host answers NOT_FOUND).
 *   1.5  2026-12-02  Labelled metrics: metric_define_labelled (a metric with label names) and
 *                    metric_series (the id of one label set, for metric_add / metric_record);
 *                    a metric keeps at most AGW_METRIC_MAX_SERIES label sets, later ones fold
 *                    into the series labelled "other". Annotations: annotate (a key/value fact
 *                    about the request for its access-log line and trace span, e.g. the MCP
 *                    method or tool) and annotation_wanted (whether anything records a key).
 *                    Tracing: trace_context_get (the W3C traceparent/tracestate to put in an
 *                    outgoing message, e.g. MCP's params._meta), trace_context_adopt (continue
 *                    the trace a message names when the request head named none) and
 *                    trace_event_add (an event on the request's span, e.g. the rule that denied).
 *                    AGW_ATTR_TRACE_ID and AGW_ATTR_TRACING. trace_span_start / trace_span_end: a
 *                    child span for upstream work the host does not see (a stdio target's call).
 *   1.6  2026-12-02  annotate_pairs: several annotations in one call (a handler that annotates
 *                    every request crosses once, not once per key).
 *   1.7  2026-12-07  AGW_HTTP_CALL_WHOLE_WHEN_READY: with AGW_HTTP_CALL_STREAM_BODY, a response
 *                    that has arrived whole when its head is read comes as one
 *                    AGW_EVENT_HTTP_RESPONSE carrying the body (end_of_stream = 1), not a head
 *                    and body events. An older host ignores the flag (the plugin then gets the
 *                    streamed events). Documented: a streamed body's last chunk may carry
 *                    end_of_stream = 1 itself (no separate empty event).
 * ---------------------------------------------------------------------------------------------
 *
 * RULES THAT KEEP THE ABI STABLE
 *  - One exported symbol per major: agw_plugin_entry_v1. Nothing else of the plugin is looked up.
 *  - Host functions reach the plugin only through the agw_host_api table passed to the entry
 *    (the SQLite extension pattern): a plugin has no undefined symbols on the host.
 *  - Every struct exchanged starts with uint32_t struct_size (sizeof as the writer compiled it).
 *    Structs only grow by appending members. A reader ignores members past the size it knows and
 *    treats members the writer did not have (past the writer's struct_size) as zero/NULL.
 *    Use AGW_HAS_MEMBER(ptr, type, member) before reading a member added in a later minor.
 *  - Out-structs (a struct a host function fills in, like agw_rpc_verdict): set struct_size to
 *    sizeof as you compiled it before the call; the host writes no more than that (since 1.3).
 *  - Every enum value is an explicit integer constant of a fixed-width type; an unknown value fails
 *    closed (an unknown hook status fails the request with 500; it never crashes the gateway).
 *
 * MEMORY (ownership is in the type name)
 *  - agw_str is {pointer, length}: bytes, not NUL-terminated, not guaranteed UTF-8.
 *  - Views the host hands out (agw_str out-parameters, event payloads, message fields) are valid
 *    until the current hook returns, or until the same object is mutated, whichever comes first.
 *  - Anything a plugin passes to a host function is copied before that function returns.
 *  - Neither side frees memory the other allocated. *_host handles belong to the host,
 *    plugin context pointers (void *) belong to the plugin.
 *
 * LIFECYCLE
 *   entry (control thread, once per image)
 *     -> config_new   (control thread, once per configured filter instance; NULL rejects the config)
 *       -> stream_new (event loop of the request; NULL fails that request with 500)
 *         -> on_request_headers / on_request_body / on_rpc_message / on_response_headers /
 *            on_response_body / on_event  (same event loop, never concurrently for one stream)
 *         -> on_stream_complete (always, once; for logging)
 *         -> stream_destroy
 *     -> config_destroy (control thread, when no stream uses the instance any more)
 *   The host never unloads an image (dlclose) while the process lives.
 *
 * THREADS
 *  - A stream lives on one event loop. All its hooks and events run there, one at a time.
 *  - A filter config instance is shared by streams on every event loop: make it immutable after
 *    config_new, or lock it. Events for a config scope (on_config_event) run on that instance's
 *    home event loop, one at a time, possibly concurrently with stream hooks on other loops.
 *  - Host functions that take an agw_stream_host must be called on that stream's event loop
 *    (inside one of its hooks or events); elsewhere they return AGW_ERR_WRONG_THREAD.
 *  - Callable from ANY thread: log, log_enabled, metric_add, metric_record, scheduler_new,
 *    scheduler_post, scheduler_free, now_unix_ns. (So config_new, on the control thread, can make a
 *    config-scope scheduler and post to it to start work on the instance's home loop.)
 *  - To get from another thread (a Swift Task, a worker) back to a stream, create a scheduler on
 *    the stream and post to it; posting after the stream is gone is a harmless no-op.
 */
#ifndef AGW_PLUGIN_H
#define AGW_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AGW_ABI_MAJOR 1
#define AGW_ABI_MINOR 7

/** The exported entry symbol's name for this major, as a string (for dlsym). */
#define AGW_PLUGIN_ENTRY_SYMBOL "agw_plugin_entry_v1"

#if defined(_WIN32)
#define AGW_EXPORT __declspec(dllexport)
#else
#define AGW_EXPORT __attribute__((visibility("default")))
#endif

/** True when the struct at ptr, as its writer compiled it, contains member. */
#define AGW_HAS_MEMBER(ptr, type, member) \
    ((ptr) != NULL && (ptr)->struct_size >= offsetof(type, member) + sizeof(((type *)0)->member))

/* ----------------------------------------------------------------------------------------- */
/* Basic types                                                                               */
/* ----------------------------------------------------------------------------------------- */

/** Bytes with a length. Not NUL-terminated. */
typedef struct agw_str {
    const char *ptr;
    size_t len;
} agw_str;

/** One header (or environment variable: name=value). Frozen: never grows, so arrays of it are safe. */
typedef struct agw_header {
    agw_str name;
    agw_str value;
} agw_header;

/** Opaque host objects. Plugins hold pointers to them and never look inside. */
typedef struct agw_config_host agw_config_host;       /* one configured filter instance */
typedef struct agw_stream_host agw_stream_host;       /* one request/response exchange */
typedef struct agw_scope_host agw_scope_host;         /* owner of async work: a stream or a config */
typedef struct agw_scheduler_host agw_scheduler_host; /* posts events to a stream from any thread */

/** Result of a host function. */
typedef int32_t agw_result;
#define AGW_OK ((agw_result)0)
#define AGW_ERR_NOT_FOUND ((agw_result)1)        /* no such header, key, attribute, call, process */
#define AGW_ERR_INVALID_ARGUMENT ((agw_result)2) /* bad pointer, size, status code, name */
#define AGW_ERR_WRONG_STATE ((agw_result)3)      /* e.g. response already started, no body in this phase */
#define AGW_ERR_WRONG_THREAD ((agw_result)4)     /* called off the stream's event loop */
#define AGW_ERR_UNSUPPORTED ((agw_result)5)      /* not available in this host or this scope */
#define AGW_ERR_GONE ((agw_result)6)             /* the stream or client went away */
#define AGW_ERR_LIMIT ((agw_result)7)            /* a configured limit would be exceeded */
#define AGW_ERR_INTERNAL ((agw_result)8)

/** What a hook tells the host to do next. Any other value fails the request with 500. */
typedef int32_t agw_status;
#define AGW_STATUS_CONTINUE ((agw_status)0) /* go on to the next filter / phase */
#define AGW_STATUS_STOP ((agw_status)1)     /* pause this stream; the plugin calls resume() later */
#define AGW_STATUS_REPLIED ((agw_status)2)  /* the plugin sent a local reply (send_local_reply or rpc_reject) */

/** Log levels. */
typedef int32_t agw_log_level;
#define AGW_LOG_TRACE ((agw_log_level)0)
#define AGW_LOG_DEBUG ((agw_log_level)1)
#define AGW_LOG_INFO ((agw_log_level)2)
#define AGW_LOG_WARN ((agw_log_level)3)
#define AGW_LOG_ERROR ((agw_log_level)4)

/** Which header map or body a host function works on. */
typedef int32_t agw_map;
#define AGW_MAP_REQUEST ((agw_map)0)
#define AGW_MAP_RESPONSE ((agw_map)1)

/** Request attributes, read with attribute_get. Values are text. */
typedef int32_t agw_attribute;
#define AGW_ATTR_METHOD ((agw_attribute)1)          /* "GET" */
#define AGW_ATTR_PATH ((agw_attribute)2)            /* "/a/b?x=1" as received (after filters' rewrites) */
#define AGW_ATTR_HOST ((agw_attribute)3)            /* Host header or :authority */
#define AGW_ATTR_SCHEME ((agw_attribute)4)          /* "http" or "https" */
#define AGW_ATTR_PEER_ADDRESS ((agw_attribute)5)    /* "127.0.0.1:53211" */
#define AGW_ATTR_TLS_SNI ((agw_attribute)6)         /* server name the client asked for; NOT_FOUND without TLS */
#define AGW_ATTR_TLS_PEER_SUBJECT ((agw_attribute)7) /* client certificate subject (mTLS); NOT_FOUND without one */
#define AGW_ATTR_ROUTE_NAME ((agw_attribute)8)
#define AGW_ATTR_LISTENER_NAME ((agw_attribute)9)
#define AGW_ATTR_HTTP_VERSION ((agw_attribute)10)   /* "HTTP/1.1" or "HTTP/2" */
#define AGW_ATTR_REQUEST_ID ((agw_attribute)11)     /* unique per stream */
#define AGW_ATTR_RESPONSE_STATUS ((agw_attribute)12) /* "200"; NOT_FOUND before the response starts */
#define AGW_ATTR_FILTER_NAME ((agw_attribute)13)    /* instance name of the filter being called */
#define AGW_ATTR_ROUTE_PATH_PREFIX ((agw_attribute)14) /* the route's match path_prefix ("/agents"), else its
                                                        exact path; NOT_FOUND when it matches on neither (1.4) */
#define AGW_ATTR_TRACE_ID ((agw_attribute)15)       /* the request's trace id (32 hex digits); NOT_FOUND when it
                                                        carries none yet (1.5) */
#define AGW_ATTR_TRACING ((agw_attribute)16)        /* "1" when the gateway traces requests ([tracing]), so a
                                                        handler looks for a trace in messages; NOT_FOUND otherwise (1.5) */

/** Metric kinds. */
typedef int32_t agw_metric_kind;
#define AGW_METRIC_COUNTER ((agw_metric_kind)0)
#define AGW_METRIC_GAUGE ((agw_metric_kind)1)
#define AGW_METRIC_HISTOGRAM ((agw_metric_kind)2)
/** Label sets one labelled metric keeps (1.5); past it, new ones are recorded as "other". */
#define AGW_METRIC_MAX_SERIES 1000

/** Filter kinds. */
typedef int32_t agw_filter_kind;
#define AGW_KIND_FILTER ((agw_filter_kind)0)  /* sits in a route's chain; the request goes on */
#define AGW_KIND_HANDLER ((agw_filter_kind)1) /* terminal: answers the request itself (respond_*) */

/* ----------------------------------------------------------------------------------------- */
/* Events: async results delivered to on_event (stream scope) or on_config_event (config scope) */
/* ----------------------------------------------------------------------------------------- */

typedef int32_t agw_event_type;
#define AGW_EVENT_SCHEDULED ((agw_event_type)1)     /* scheduler_post: id = the posted event id */
#define AGW_EVENT_TIMER ((agw_event_type)2)         /* timer fired: id = the timer id */
#define AGW_EVENT_HTTP_RESPONSE ((agw_event_type)3) /* id = call id; code = status; headers; data = body
                                                     * (whole body, end_of_stream = 1, unless the call was
                                                     * made with AGW_HTTP_CALL_STREAM_BODY: then data is empty,
                                                     * end_of_stream = 0 and AGW_EVENT_HTTP_BODY follows) */
#define AGW_EVENT_HTTP_BODY ((agw_event_type)4)     /* id = call id; data = next chunk; end_of_stream = 1 on the last
                                                     * (which may carry the last bytes, or none) */
#define AGW_EVENT_HTTP_FAILED ((agw_event_type)5)   /* id = call id; code = agw_result-like reason; data = message */
#define AGW_EVENT_PROCESS_STDOUT ((agw_event_type)6) /* id = process id; data = one line without the newline */
#define AGW_EVENT_PROCESS_STDERR ((agw_event_type)7) /* id = process id; data = one line without the newline */
#define AGW_EVENT_PROCESS_EXIT ((agw_event_type)8)   /* id = process id; code = exit status, or -signal */

/** Why an HTTP call failed (code of AGW_EVENT_HTTP_FAILED). */
#define AGW_CALL_FAILED_CONNECT ((int32_t)1)
#define AGW_CALL_FAILED_TIMEOUT ((int32_t)2)
#define AGW_CALL_FAILED_CANCELLED ((int32_t)3)  /* reserved: http_call_cancel delivers no event */
#define AGW_CALL_FAILED_PROTOCOL ((int32_t)4)
#define AGW_CALL_FAILED_LIMIT ((int32_t)5)

typedef struct agw_event {
    uint32_t struct_size;
    agw_event_type type;
    uint64_t id;
    int32_t code;
    uint32_t end_of_stream;
    const agw_header *headers; /* AGW_EVENT_HTTP_RESPONSE only */
    size_t header_count;
    agw_str data;
} agw_event;

/* ----------------------------------------------------------------------------------------- */
/* Protocol messages (JSON-RPC for MCP and A2A), parsed once by the handler plugin            */
/* ----------------------------------------------------------------------------------------- */

typedef int32_t agw_rpc_protocol;
#define AGW_RPC_PROTOCOL_MCP ((agw_rpc_protocol)1)
#define AGW_RPC_PROTOCOL_A2A ((agw_rpc_protocol)2)

typedef int32_t agw_rpc_direction;
#define AGW_RPC_CLIENT_TO_SERVER ((agw_rpc_direction)0)
#define AGW_RPC_SERVER_TO_CLIENT ((agw_rpc_direction)1)

typedef int32_t agw_rpc_kind;
#define AGW_RPC_REQUEST ((agw_rpc_kind)0)
#define AGW_RPC_NOTIFICATION ((agw_rpc_kind)1)
#define AGW_RPC_RESULT ((agw_rpc_kind)2)
#define AGW_RPC_ERROR ((agw_rpc_kind)3)
/** One item of a list result (e.g. one tool of tools/list): target = its name/URI, params = the item.
 *  A filter hides it by rejecting it (rpc_reject or AGW_STATUS_REPLIED); STOP counts as hide. */
#define AGW_RPC_LIST_ITEM ((agw_rpc_kind)4)

/** What the handler knows about one JSON-RPC message. All views are valid during the hook only. */
typedef struct agw_rpc_message {
    uint32_t struct_size;
    agw_rpc_protocol protocol;
    agw_rpc_direction direction;
    agw_rpc_kind kind;
    agw_str id;          /* the JSON-RPC id as JSON text ("7", "\"abc\""); empty for notifications */
    agw_str method;      /* "tools/call" */
    agw_str target;      /* the tool / prompt name or resource URI as the target (upstream server) knows
                          * it, without the gateway's prefix ("read", not "files_read"); A2A task id;
                          * empty if none */
    agw_str target_kind; /* "tool", "prompt", "resource", "task"; empty if none */
    agw_str upstream;    /* the name of the federated target (upstream server) the message routes to, as
                          * configured ("files"); empty if none */
    agw_str session_id;  /* the client's session at the gateway; empty if stateless */
    agw_str params;      /* params (or the list item) as JSON text; empty if absent */
} agw_rpc_message;

/** The outcome of publishing a message to the route's filters (rpc_publish). An out-struct: set
 *  struct_size before passing it (see the rules above). */
typedef int32_t agw_rpc_decision;
#define AGW_RPC_ALLOW ((agw_rpc_decision)0)   /* go on; params may have been rewritten (see rewritten_params) */
#define AGW_RPC_REJECT ((agw_rpc_decision)1)  /* answer the client with error_code / error_message */
#define AGW_RPC_PENDING ((agw_rpc_decision)2) /* a filter paused; the verdict arrives as AGW_EVENT_RPC_VERDICT */

typedef struct agw_rpc_verdict {
    uint32_t struct_size;
    agw_rpc_decision decision;
    int32_t error_code;       /* JSON-RPC error code when rejected */
    agw_str error_message;    /* when rejected */
    agw_str rewritten_params; /* non-empty when a filter replaced params */
} agw_rpc_verdict;

/** Delivered to the handler's on_event when a paused rpc_publish finishes: id = the publish token,
 *  code = agw_rpc_decision; call rpc_last_verdict for the details. */
#define AGW_EVENT_RPC_VERDICT ((agw_event_type)9)

/* ----------------------------------------------------------------------------------------- */
/* Requests the plugin makes of the host                                                     */
/* ----------------------------------------------------------------------------------------- */

/** Flags of agw_http_call_request. */
#define AGW_HTTP_CALL_STREAM_BODY ((uint32_t)1) /* deliver the response body as AGW_EVENT_HTTP_BODY chunks */
/* Since 1.7, with AGW_HTTP_CALL_STREAM_BODY: when the whole response is at hand as its head is read
 * (a small answer in one read), deliver it as one AGW_EVENT_HTTP_RESPONSE with the body in data and
 * end_of_stream = 1; otherwise stream as usual. Handle both forms (an older host ignores the flag). */
#define AGW_HTTP_CALL_WHOLE_WHEN_READY ((uint32_t)2)

typedef struct agw_http_call_request {
    uint32_t struct_size;
    uint32_t flags;
    agw_str method;            /* "GET" */
    agw_str url;               /* absolute http:// or https:// URL */
    const agw_header *headers; /* sent as given; Host is derived from the URL unless given */
    size_t header_count;
    agw_str body;
    uint32_t timeout_ms;       /* 0 = host default. Buffered: whole call. Streamed: until the response head. */
} agw_http_call_request;

/** Flags of agw_process_spec. */
#define AGW_PROCESS_INHERIT_ENV ((uint32_t)1) /* start from the gateway's environment, then apply env */

typedef struct agw_process_spec {
    uint32_t struct_size;
    uint32_t flags;
    const agw_str *argv;   /* argv[0] is the program; looked up in PATH when it has no '/' */
    size_t argc;
    const agw_header *env; /* name/value pairs */
    size_t env_count;
    agw_str working_directory; /* empty = the gateway's */
} agw_process_spec;

/* ----------------------------------------------------------------------------------------- */
/* The host function table                                                                   */
/* ----------------------------------------------------------------------------------------- */

/**
 * agw_host_api: every service of the host. Passed to agw_plugin_entry_v1; valid for the life of the process.
 * APPEND-ONLY. Before calling a member added after 1.0, check AGW_HAS_MEMBER(host, agw_host_api, member).
 */
typedef struct agw_host_api {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    const char *host_version; /* NUL-terminated, e.g. "0.1.0" */

    /* --- logging (any thread). scope may be NULL. ------------------------------------------ */
    void (*log)(const agw_scope_host *scope, agw_log_level level, agw_str message);
    int32_t (*log_enabled)(agw_log_level level);

    /* --- scopes ---------------------------------------------------------------------------- */
    agw_scope_host *(*stream_scope)(agw_stream_host *stream);
    agw_scope_host *(*config_scope)(agw_config_host *config);

    /* --- config_new only (control thread) -------------------------------------------------- */
    /** Why config_new returns NULL; shown to the user with the route and filter name. */
    void (*config_set_error)(agw_config_host *config, agw_str message);

    /* --- headers (stream's event loop) ------------------------------------------------------ */
    /** The index-th value of name (case-insensitive). NOT_FOUND if absent. */
    agw_result (*header_get)(agw_stream_host *stream, agw_map map, agw_str name, size_t index, agw_str *value);
    agw_result (*header_count)(agw_stream_host *stream, agw_map map, size_t *count);
    /** The index-th header in order, for iteration with header_count. */
    agw_result (*header_at)(agw_stream_host *stream, agw_map map, size_t index, agw_str *name, agw_str *value);
    /** Replaces all values of name with one value. */
    agw_result (*header_set)(agw_stream_host *stream, agw_map map, agw_str name, agw_str value);
    agw_result (*header_add)(agw_stream_host *stream, agw_map map, agw_str name, agw_str value);
    agw_result (*header_remove)(agw_stream_host *stream, agw_map map, agw_str name);

    /* --- bodies (inside on_request_body / on_response_body, the whole buffered body) -------- */
    agw_result (*body_get)(agw_stream_host *stream, agw_map map, agw_str *body);
    agw_result (*body_replace)(agw_stream_host *stream, agw_map map, agw_str data);
    agw_result (*body_append)(agw_stream_host *stream, agw_map map, agw_str data);

    /* --- replies --------------------------------------------------------------------------- */
    /** Answers the client now; return AGW_STATUS_REPLIED from the hook. Local replies skip response hooks. */
    agw_result (*send_local_reply)(agw_stream_host *stream, uint32_t status, const agw_header *headers,
                                   size_t header_count, agw_str body);
    /** Handlers: starts the response. end_of_stream = 1 for a response without body. */
    agw_result (*respond_headers)(agw_stream_host *stream, uint32_t status, const agw_header *headers,
                                  size_t header_count, uint32_t end_of_stream);
    /** Handlers: sends a body chunk now (e.g. one SSE event). GONE once the client left. */
    agw_result (*respond_body)(agw_stream_host *stream, agw_str data, uint32_t end_of_stream);

    /* --- stream state ------------------------------------------------------------------------ */
    /** Resumes a stream paused by AGW_STATUS_STOP (no-op result WRONG_STATE if not paused). */
    agw_result (*resume)(agw_stream_host *stream);
    /** Per-stream key-value, shared by all filters of the stream (e.g. auth hands identity to RBAC). */
    agw_result (*kv_set)(agw_stream_host *stream, agw_str key, agw_str value);
    agw_result (*kv_get)(agw_stream_host *stream, agw_str key, agw_str *value);
    agw_result (*attribute_get)(agw_stream_host *stream, agw_attribute attribute, agw_str *value);

    /* --- metrics (define: config_new only; add/record: any thread) --------------------------- */
    agw_result (*metric_define)(agw_config_host *config, agw_metric_kind kind, agw_str name, agw_str help,
                                uint32_t *metric_id);
    agw_result (*metric_add)(uint32_t metric_id, int64_t delta);      /* counters and gauges */
    agw_result (*metric_record)(uint32_t metric_id, double value);    /* histograms (and gauges: set) */

    /* --- async services. scope: a stream (events go to on_event on its loop) or a config
     *     (events go to on_config_event on its home loop). Call on that loop. ------------------- */
    agw_result (*http_call)(agw_scope_host *scope, const agw_http_call_request *request, uint64_t *call_id);
    agw_result (*http_call_cancel)(agw_scope_host *scope, uint64_t call_id);
    agw_result (*timer_start)(agw_scope_host *scope, uint32_t delay_ms, uint64_t *timer_id);
    agw_result (*timer_cancel)(agw_scope_host *scope, uint64_t timer_id);
    agw_result (*process_spawn)(agw_scope_host *scope, const agw_process_spec *spec, uint64_t *process_id);
    agw_result (*process_write)(agw_scope_host *scope, uint64_t process_id, agw_str data);
    /** Closes stdin; after grace_ms sends SIGTERM, after another grace_ms SIGKILL. EXIT follows. */
    agw_result (*process_terminate)(agw_scope_host *scope, uint64_t process_id, uint32_t grace_ms);

    /* --- cross-thread scheduling ------------------------------------------------------------- */
    /** Any thread. Creates a scheduler bound to the scope's loop (NULL once the scope is closed).
     *  The plugin owns it: scheduler_free it. */
    agw_scheduler_host *(*scheduler_new)(agw_scope_host *scope);
    /** Any thread. Delivers AGW_EVENT_SCHEDULED with id = event_id; no-op once the scope is gone. */
    void (*scheduler_post)(agw_scheduler_host *scheduler, uint64_t event_id);
    /** Any thread. */
    void (*scheduler_free)(agw_scheduler_host *scheduler);

    /* --- protocol messages (handler plugins publish; filters receive on_rpc_message) ---------- */
    /** Runs the route's filters' on_rpc_message for msg, in chain order. token identifies a PENDING
     *  result's later AGW_EVENT_RPC_VERDICT. Views in verdict are valid until the hook returns. */
    agw_result (*rpc_publish)(agw_stream_host *stream, const agw_rpc_message *msg, uint64_t token,
                              agw_rpc_verdict *verdict);
    /** The verdict of the last finished rpc_publish on this stream (after AGW_EVENT_RPC_VERDICT). */
    agw_result (*rpc_last_verdict)(agw_stream_host *stream, agw_rpc_verdict *verdict);
    /** Filters, inside on_rpc_message: reject the message with a JSON-RPC error; return REPLIED. */
    agw_result (*rpc_reject)(agw_stream_host *stream, int32_t code, agw_str message);
    /** Filters, inside on_rpc_message: replace params (JSON text) for the filters after and the handler. */
    agw_result (*rpc_set_params)(agw_stream_host *stream, agw_str params_json);
    /** A filter that returned STOP from on_rpc_message finishes with allow (0) or reject (1, code, message). */
    agw_result (*rpc_resume)(agw_stream_host *stream, agw_rpc_decision decision, int32_t code, agw_str message);

    /* --- misc (any thread) --------------------------------------------------------------------- */
    uint64_t (*now_unix_ns)(void);

    /* --- added in 1.1 (check AGW_HAS_MEMBER(host, agw_host_api, rpc_subscriber_count)) ------------ */
    /** How many filters on the stream's route implement on_rpc_message. A handler may skip
     *  rpc_publish (e.g. for every item of a merged list) when it is 0: every message would be allowed. */
    agw_result (*rpc_subscriber_count)(agw_stream_host *stream, size_t *count);

    /* --- added in 1.2 (check AGW_HAS_MEMBER(host, agw_host_api, rpc_rejection_response)) -------- */
    /** Filters, inside on_rpc_message: rejects like rpc_reject, and asks the handler to answer with
     *  this HTTP status (0 = the handler's usual one) and these extra response headers (e.g. 429
     *  with Retry-After from a rate limit). Return AGW_STATUS_REPLIED. */
    agw_result (*rpc_reject_with_response)(agw_stream_host *stream, int32_t code, agw_str message, uint32_t http_status,
                                           const agw_header *headers, size_t header_count);
    /** Handlers, after a rejected rpc_publish (or its AGW_EVENT_RPC_VERDICT): the HTTP status and
     *  headers the rejecting filter asked for. NOT_FOUND when it asked for none. Views are valid
     *  until the hook returns. */
    agw_result (*rpc_rejection_response)(agw_stream_host *stream, uint32_t *http_status, const agw_header **headers,
                                         size_t *header_count);
    /** Any thread. The absolute directory of the gateway's config file: resolve relative paths in
     *  the filter's config table (a key file, say) against it, as the gateway does its own. The
     *  view is valid while the config instance lives. */
    agw_result (*config_directory)(agw_config_host *config, agw_str *directory);

    /* --- added in 1.5 (check AGW_HAS_MEMBER(host, agw_host_api, metric_series)) ------------------ */
    /** config_new only. Defines a metric with label names (1 to 16 of [a-zA-Z_][a-zA-Z0-9_]*);
     *  another instance defining the same name, kind and label names gets the same family, other
     *  label names or kind are INVALID_ARGUMENT. Histograms have buckets from 0.5 ms to 60 s
     *  (record seconds). family_id is for metric_series only. */
    agw_result (*metric_define_labelled)(agw_config_host *config, agw_metric_kind kind, agw_str name, agw_str help,
                                         const agw_str *label_names, size_t label_count, uint32_t *family_id);
    /** Any thread. The series of a labelled metric with these values (one per label name, in the
     *  order defined; copied), as an id for metric_add / metric_record. The same values give the
     *  same id: resolve once (when a tool list arrives, say) and keep it. Once the metric has
     *  AGW_METRIC_MAX_SERIES label sets, a new one gets the series whose values are all "other".
     *  Label values from client input make unbounded series: take them from a bounded set. */
    agw_result (*metric_series)(uint32_t family_id, const agw_str *label_values, size_t label_count, uint32_t *metric_id);
    /** Stream's event loop. Records a fact about the request (copied) for its access-log line and
     *  its trace span: use OpenTelemetry attribute names where one exists ("mcp.method.name",
     *  "gen_ai.tool.name", "mcp.session.id", "jsonrpc.request.id", "rpc.response.status_code").
     *  A second value for a key replaces the first. Never annotate credentials. NOT_FOUND when
     *  nothing records the key on this request (not logged, not traced, or a field the route
     *  leaves out): the call did nothing. */
    agw_result (*annotate)(agw_stream_host *stream, agw_str key, agw_str value);
    /** Stream's event loop. 1 when annotate(key) would be recorded on this request, else 0; with
     *  an empty key, whether any annotation would be. Ask before building a costly value. */
    uint32_t (*annotation_wanted)(agw_stream_host *stream, agw_str key);
    /** Stream's event loop. The W3C trace context to carry in a message this stream sends on
     *  (MCP: params._meta.traceparent / tracestate): the request's span when it is sampled, else
     *  the client's context as it came. The gateway adds it to http_call requests itself.
     *  tracestate may be empty. NOT_FOUND when the request carries no trace. */
    agw_result (*trace_context_get)(agw_stream_host *stream, agw_str *traceparent, agw_str *tracestate);
    /** Stream's event loop. Continues the trace a message names (MCP's params._meta.traceparent)
     *  when the request head carried no traceparent and no span of this request started yet.
     *  INVALID_ARGUMENT for a malformed traceparent, WRONG_STATE when too late or the head
     *  named a parent, NOT_FOUND when the gateway does not trace. */
    agw_result (*trace_context_adopt)(agw_stream_host *stream, agw_str traceparent, agw_str tracestate);
    /** Stream's event loop. Adds an event with attributes (copied) to the request's span, e.g. a
     *  policy decision. NOT_FOUND when the request is not sampled. */
    agw_result (*trace_event_add)(agw_stream_host *stream, agw_str name, const agw_header *attributes, size_t attribute_count);
    /** Stream's event loop. Starts a client span, a child of the request's span, for upstream
     *  work the gateway does not see itself (http_call has its own): e.g. a call written to a
     *  child process. traceparent receives the new span's context, to carry in the message.
     *  NOT_FOUND when the request is not sampled. A span not ended ends with the stream. */
    agw_result (*trace_span_start)(agw_stream_host *stream, agw_str name, uint64_t *span_id, agw_str *traceparent);
    /** Stream's event loop. Ends a span trace_span_start started; error != 0 marks it failed,
     *  with message as its description. NOT_FOUND for an unknown or ended span. */
    agw_result (*trace_span_end)(agw_stream_host *stream, uint64_t span_id, uint32_t error, agw_str message);

    /* --- added in 1.6 (check AGW_HAS_MEMBER(host, agw_host_api, annotate_pairs)) ---------------- */
    /** Stream's event loop. annotate for each pair (name = key), in order, in one call: OK when
     *  at least one was recorded, NOT_FOUND when none was, INVALID_ARGUMENT (and nothing
     *  recorded) when a key is empty or pairs is NULL with count > 0. */
    agw_result (*annotate_pairs)(agw_stream_host *stream, const agw_header *pairs, size_t count);
} agw_host_api;

/* ----------------------------------------------------------------------------------------- */
/* What the plugin provides                                                                  */
/* ----------------------------------------------------------------------------------------- */

/**
 * One filter (or handler) type. APPEND-ONLY. Every hook may be NULL ("not implemented"),
 * except config_new. Plugin-owned; must stay valid while the process lives.
 */
typedef struct agw_filter_type {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    const char *name; /* NUL-terminated; routes name it "<plugin>" (first type) or "<plugin>.<type name>" */
    agw_filter_kind kind;
    uint32_t flags;   /* reserved, 0 */
    void *user_data;  /* the plugin's own; the host never reads it (SDKs dispatch on it) */

    /** Control thread. type is this struct (so one function can serve many types). config_json is the
     *  route's TOML table for this filter, as JSON text ("{}" when absent).
     *  Return NULL (after config_set_error) to reject the configuration. */
    void *(*config_new)(const struct agw_filter_type *type, agw_config_host *config, agw_str instance_name,
                        agw_str config_json);
    void (*config_destroy)(void *config);
    /** Events of async work owned by the config scope. Runs on the instance's home event loop. */
    void (*on_config_event)(void *config, agw_config_host *host_config, const agw_event *event);

    /** Per request; NULL fails the request with 500. NULL hook = stream context is NULL. */
    void *(*stream_new)(void *config, agw_stream_host *stream);
    void (*stream_destroy)(void *stream_ctx);

    /** end_of_stream = 1 when the request has no body. A handler's runs last, after every filter's,
     *  and before the body is read (so a handler can refuse a request at once). */
    agw_status (*on_request_headers)(void *stream_ctx, agw_stream_host *stream, uint32_t end_of_stream);
    /** When any stage of the route (a filter or the handler) implements it, the host buffers the
     *  whole request body (up to the route's limit) and calls it once with end_of_stream = 1, in
     *  chain order, the handler's last. Read it with body_get. */
    agw_status (*on_request_body)(void *stream_ctx, agw_stream_host *stream, uint32_t end_of_stream);
    /** Runs in reverse chain order. */
    agw_status (*on_response_headers)(void *stream_ctx, agw_stream_host *stream, uint32_t end_of_stream);
    /** Like on_request_body, for the response. Not called for text/event-stream responses. */
    agw_status (*on_response_body)(void *stream_ctx, agw_stream_host *stream, uint32_t end_of_stream);
    /** Always called once, after the response finished or the client left. For logging. */
    void (*on_stream_complete)(void *stream_ctx, agw_stream_host *stream);
    /** Async results for this stream's scope (scheduler, timers, HTTP calls, processes). */
    void (*on_event)(void *stream_ctx, agw_stream_host *stream, const agw_event *event);
    /** A JSON-RPC message published by the route's handler. CONTINUE = allow, REPLIED = rejected
     *  (rpc_reject), STOP = decide later with rpc_resume. */
    agw_status (*on_rpc_message)(void *stream_ctx, agw_stream_host *stream, const agw_rpc_message *message);
} agw_filter_type;

/** The runtime a plugin was built with. C plugins: AGW_RUNTIME_C. Swift plugins: the SDK fills
 *  in "swift:" + the compiler identity; the host refuses one that differs from its own. */
#define AGW_RUNTIME_C "c"

/** The identity of the compiler compiling this header ("Clang 21.0.0 (…llvm-project.git <hash>)").
 *  The host and the Swift SDK compare it to tell whether a Swift plugin used the host's toolchain. */
static inline const char *agw_compiler_identity(void) { return __VERSION__; }

/** What agw_plugin_entry_v1 returns. APPEND-ONLY. Plugin-owned, valid while the process lives. */
typedef struct agw_plugin {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    const char *name;    /* NUL-terminated, e.g. "header-stamp" */
    const char *version; /* the plugin's own version, e.g. "1.2.0" */
    const char *runtime; /* AGW_RUNTIME_C, or "swift:<compiler identity>" */
    size_t filter_type_count;
    /* An array of pointers, not of structs: agw_filter_type may grow, so its stride is not fixed. */
    const agw_filter_type *const *filter_types;
} agw_plugin;

/**
 * The plugin's only exported symbol. Called once per image on the control thread.
 * Return NULL to refuse to load (log why through host->log first).
 */
typedef const agw_plugin *(*agw_plugin_entry_v1_fn)(const agw_host_api *host);

#ifdef __cplusplus
}
#endif

#endif /* AGW_PLUGIN_H */
