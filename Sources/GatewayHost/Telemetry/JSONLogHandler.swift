import Foundation
import Logging

/// The gateway's own log lines as JSON (`--log-format json`), one object per line on stderr:
/// `time`, `level`, `logger`, `message`, then the metadata (a request's lines carry its
/// `request_id` and, when traced, `trace_id`).
struct JSONLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    let label: String

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var line = JSONLineWriter()
        line.string("time", AccessLogFormat.timestamp(UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)))
        line.string("level", event.level.rawValue)
        line.string("logger", label)
        line.string("message", event.message.description)
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for key in merged.keys.sorted() where !["time", "level", "logger", "message"].contains(key) {
            line.string(key, "\(merged[key]!)")
        }
        let bytes = line.finish()
        bytes.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }
}
