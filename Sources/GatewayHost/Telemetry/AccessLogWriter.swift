import Dispatch
import Logging
import ServiceLifecycle
import UnixSignals
import Foundation
import Prometheus
import Synchronization

/// Writes access-log lines to stdout or a file, off the event loops: a line is appended to a
/// buffer under a lock, and the writer queue writes the buffer every `flushInterval` (or at once
/// when it holds `flushBytes`), so a busy gateway makes a few large writes rather than a thread
/// wake-up and a `write` per line. When the buffer holds more than `maxBufferedBytes` (the disk
/// or pipe is stuck), new lines are dropped and counted (`agw_access_log_dropped_total`), so a
/// slow log never slows requests.
///
/// `reopen()` (on `SIGUSR1`) closes and opens the file again, for logrotate's move-then-signal.
final class AccessLogWriter: Sendable {
    private struct State {
        var path: String?
        var descriptor: Int32 = 1
        var buffer: [UInt8] = []
        var lines = 0
        /// A flush for a full buffer is queued (ahead of the timed one).
        var flushingEarly = false
        var flushScheduled = false
        var openError: String?
    }

    static let maxBufferedBytes = 8 << 20
    /// A line waits at most this long before it is written.
    static let flushInterval = DispatchTimeInterval.milliseconds(100)
    static let flushBytes = 64 << 10

    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "agentgateway.access-log")
    private let dropped: Counter
    private let written: Counter

    init(metrics: MetricCatalog) {
        func counter(_ name: String, _ help: String) -> Counter {
            guard let family = try? metrics.define(.counter, name: name, help: help), case .counter(let counter)? = metrics.series(family, values: [])?.series else {
                preconditionFailure("\(name) is defined twice")
            }
            return counter
        }
        dropped = counter("agw_access_log_dropped_total", "Access-log lines dropped because the log could not keep up")
        written = counter("agw_access_log_lines_total", "Access-log lines written")
    }

    /// Where lines go: a file path, or nil for stdout. Opening a new path happens at once (an
    /// error is returned and lines keep going where they went).
    func use(path: String?) -> String? {
        state.withLock { state in
            guard state.path != path || (path != nil && state.descriptor == 1) else { return nil }
            guard let path else {
                if state.descriptor > 2 { close(state.descriptor) }
                state.descriptor = 1
                state.path = nil
                return nil
            }
            let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { return "cannot open the access log \(path): \(String(cString: strerror(errno)))" }
            if state.descriptor > 2 { close(state.descriptor) }
            state.descriptor = descriptor
            state.path = path
            return nil
        }
    }

    /// Opens the file again at its path (after logrotate moved it).
    func reopen() -> String? {
        let path: String? = state.withLock { state in
            guard let path = state.path else { return nil }
            let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else {
                state.openError = "cannot reopen the access log \(path): \(String(cString: strerror(errno)))"
                return path
            }
            if state.descriptor > 2 { close(state.descriptor) }
            state.descriptor = descriptor
            state.openError = nil
            return path
        }
        return path.flatMap { _ in state.withLock { $0.openError } }
    }

    func write(_ line: UnsafeRawBufferPointer) {
        enum Outcome { case queued, scheduleFlush, flushNow, dropped }
        let outcome = state.withLock { state -> Outcome in
            guard state.buffer.count + line.count <= Self.maxBufferedBytes else { return .dropped }
            state.buffer.append(contentsOf: line)
            state.lines += 1
            if state.buffer.count >= Self.flushBytes, !state.flushingEarly {
                state.flushingEarly = true
                return .flushNow
            }
            if state.flushScheduled { return .queued }
            state.flushScheduled = true
            return .scheduleFlush
        }
        switch outcome {
        case .scheduleFlush: queue.asyncAfter(deadline: .now() + Self.flushInterval) { self.flush(timed: true) }
        case .flushNow: queue.async { self.flush(timed: false) }
        case .dropped: dropped.increment()
        case .queued: break
        }
    }

    /// Writes what is buffered (on the writer queue). After a timed flush the next line arms the
    /// next one, so a busy log is written every `flushInterval`, not once per line.
    private func flush(timed: Bool) {
        let (bytes, lines, descriptor) = state.withLock { state -> ([UInt8], Int, Int32) in
            let taken = (state.buffer, state.lines, state.descriptor)
            state.buffer = []
            state.lines = 0
            state.flushingEarly = false
            if timed { state.flushScheduled = false }
            return taken
        }
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let result = Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if result < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += result
            }
        }
        written.increment(by: Int64(lines))
    }

    /// Waits until every line written so far is out.
    func drain() {
        queue.sync { flush(timed: false) }
    }
}

/// Reopens the access log on `SIGUSR1` (logrotate: move the file, then signal).
struct AccessLogReopener: Service {
    let writer: AccessLogWriter
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sigusr1).cancelOnGracefulShutdown() {
            if let problem = writer.reopen() {
                logger.error("access log not reopened", metadata: ["error": "\(problem)"])
            } else {
                logger.info("access log reopened")
            }
        }
    }
}
