import ABIInterop
import PluginABI

/// Log levels for `Scope.log`.
public enum LogLevel: Sendable {
    /// From the most verbose to the most severe; the gateway's `--log-level` decides what shows.
    case trace, debug, info, warning, error
    var raw: agw_log_level {
        switch self {
        case .trace: return AGW_LOG_TRACE
        case .debug: return AGW_LOG_DEBUG
        case .info: return AGW_LOG_INFO
        case .warning: return AGW_LOG_WARN
        case .error: return AGW_LOG_ERROR
        }
    }
}

/// The owner of async work (a filter on a stream, or a filter configuration). Results come back
/// as ``PluginEvent``s to `event(_:stream:)` or `configurationEvent(_:scope:)`, on the scope's loop.
public struct Scope: @unchecked Sendable {
    let host: UnsafePointer<agw_host_api>
    let handle: OpaquePointer?
    /// The config this scope belongs to, when it is a configuration scope (for metric_define).
    var config: OpaquePointer? = nil

    func defineMetric(_ kind: agw_metric_kind, name: String, help: String) -> UInt32? {
        guard let config else { return nil }
        var id: UInt32 = 0
        let result = name.withAGWString { n in help.withAGWString { h in host.pointee.metric_define(config, kind, n, h, &id) } }
        return result == AGW_OK ? id : nil
    }

    /// The gateway config file's directory, for a configuration scope (nil on hosts before ABI 1.2).
    var configDirectory: String? {
        guard let config, host.pointee.has(\.config_directory), let read = host.pointee.config_directory else { return nil }
        var directory = agw_str()
        return read(config, &directory) == AGW_OK ? directory.string : nil
    }

    /// Identifies the scope (call, timer and process ids are unique only within one scope).
    public var identity: UInt { handle.map { UInt(bitPattern: Int(bitPattern: UnsafeRawPointer($0))) } ?? 0 }


    /// Logs through the gateway's logger; the message is only built when the level is enabled.
    public func log(_ level: LogLevel, _ message: @autoclosure () -> String) {
        guard isLogging(level) else { return }
        message().withAGWString { host.pointee.log(handle, level.raw, $0) }
    }

    /// Whether the gateway logs at this level (any thread).
    public func isLogging(_ level: LogLevel) -> Bool { host.pointee.log_enabled(level.raw) != 0 }

    /// Starts an HTTP call; the response arrives as `.httpResponse` (and `.httpBody` chunks when
    /// `streamBody`), or `.httpFailed`. Returns the call id, or nil if the host refused.
    /// `wholeWhenReady` (with `streamBody`, ABI 1.7): a response that arrived whole by the time
    /// its head was read comes as one `.httpResponse` with the body and `endOfStream`.
    public func httpCall(method: String = "GET", url: String, headers: [(String, String)] = [], body: [UInt8] = [],
                         timeoutMilliseconds: UInt32 = 0, streamBody: Bool = false, wholeWhenReady: Bool = false) -> UInt64? {
        let flags = (streamBody ? AGW_HTTP_CALL_STREAM_BODY : 0) | (streamBody && wholeWhenReady ? AGW_HTTP_CALL_WHOLE_WHEN_READY : 0)
        var callID: UInt64 = 0
        let result = method.withAGWString { m in
            url.withAGWString { u in
                body.withAGWString { b in
                    headers.withAGWHeaders { pointer, count in
                        var request = agw_http_call_request(
                            struct_size: UInt32(MemoryLayout<agw_http_call_request>.size),
                            flags: flags, method: m, url: u,
                            headers: pointer, header_count: count, body: b, timeout_ms: timeoutMilliseconds)
                        return host.pointee.http_call(handle, &request, &callID)
                    }
                }
            }
        }
        return result == AGW_OK ? callID : nil
    }

    /// Cancels an HTTP call: no further events for it.
    @discardableResult
    public func cancelHTTPCall(_ id: UInt64) -> Bool { host.pointee.http_call_cancel(handle, id) == AGW_OK }

    /// Fires `.timer` with the returned id after the delay.
    public func startTimer(milliseconds: UInt32) -> UInt64? {
        var id: UInt64 = 0
        return host.pointee.timer_start(handle, milliseconds, &id) == AGW_OK ? id : nil
    }

    /// Cancels a timer: it will not fire.
    @discardableResult
    public func cancelTimer(_ id: UInt64) -> Bool { host.pointee.timer_cancel(handle, id) == AGW_OK }

    /// A handle to post events to this scope from any thread (nil once the scope is closed).
    public func makeScheduler() -> Scheduler? {
        guard let scheduler = host.pointee.scheduler_new(handle) else { return nil }
        return Scheduler(host: host, handle: scheduler)
    }

    /// Starts a child process; its lines arrive as `.processStdout` / `.processStderr`, then `.processExit`.
    public func spawnProcess(_ arguments: [String], environment: [(String, String)] = [], inheritEnvironment: Bool = true,
                             workingDirectory: String = "") -> UInt64? {
        var id: UInt64 = 0
        let strings = arguments.map { Array($0.utf8) }
        let result: agw_result = strings.withAGWStrings { argv in
            environment.withAGWHeaders { env, envCount in
                workingDirectory.withAGWString { cwd in
                    var spec = agw_process_spec(struct_size: UInt32(MemoryLayout<agw_process_spec>.size),
                                                flags: inheritEnvironment ? AGW_PROCESS_INHERIT_ENV : 0,
                                                argv: argv, argc: strings.count, env: env, env_count: envCount,
                                                working_directory: cwd)
                    return host.pointee.process_spawn(handle, &spec, &id)
                }
            }
        }
        return result == AGW_OK ? id : nil
    }

    @discardableResult
    public func writeToProcess(_ id: UInt64, _ bytes: [UInt8]) -> Bool {
        bytes.withAGWString { host.pointee.process_write(handle, id, $0) } == AGW_OK
    }

    @discardableResult
    public func terminateProcess(_ id: UInt64, graceMilliseconds: UInt32 = 1000) -> Bool {
        host.pointee.process_terminate(handle, id, graceMilliseconds) == AGW_OK
    }
}

/// Posts events back onto a stream or config loop from any thread. Freed when released.
public final class Scheduler: @unchecked Sendable {
    private let host: UnsafePointer<agw_host_api>
    private let handle: OpaquePointer

    init(host: UnsafePointer<agw_host_api>, handle: OpaquePointer) {
        self.host = host
        self.handle = handle
    }

    /// Delivers `.scheduled` with this id on the scope's loop; a no-op once the scope is gone.
    public func post(_ eventID: UInt64) { host.pointee.scheduler_post(handle, eventID) }

    deinit { host.pointee.scheduler_free(handle) }
}
