import Dispatch
import Glibc

/// Tells when the config file may have changed, with inotify on its directory, so that editors
/// that write a temporary file and rename it over the original (vim, most IDEs, `mv`, Kubernetes'
/// ConfigMap `..data` symlink swap) are seen as well as in-place writes.
///
/// Events are coalesced: the stream holds at most one pending change, and the consumer waits
/// `debounce` after each before reading the file, so a burst of writes is one reload.
enum ConfigFileWatcher {
    /// A stream that yields when the file at `path` may have changed; nil (with the reason) when
    /// inotify is unavailable.
    static func changes(of path: String) -> Result<AsyncStream<Void>, WatchError> {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) }.flatMap { $0.isEmpty ? "/" : $0 } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let fd = inotify_init1(Int32(IN_NONBLOCK) | Int32(IN_CLOEXEC))
        guard fd >= 0 else { return .failure(WatchError(message: "inotify_init1: \(String(cString: strerror(errno)))")) }
        let mask = UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO) | UInt32(IN_CREATE) | UInt32(IN_ATTRIB)
        guard inotify_add_watch(fd, directory, mask) >= 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            return .failure(WatchError(message: "cannot watch \(directory): \(reason)"))
        }
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        // DispatchSource is thread-safe (cancel from any thread); the type just is not marked Sendable.
        nonisolated(unsafe) let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: DispatchQueue(label: "agentgateway.config-watch"))
        source.setEventHandler {
            if readEvents(fd).contains(where: { $0 == name || $0 == "..data" }) { continuation.yield() }
        }
        source.setCancelHandler { close(fd) }
        continuation.onTermination = { _ in source.cancel() }
        source.resume()
        return .success(stream)
    }

    /// The names in the pending inotify events.
    private static func readEvents(_ fd: Int32) -> [String] {
        var names: [String] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { return names }
            var offset = 0
            let header = MemoryLayout<inotify_event>.size
            let lengthOffset = MemoryLayout<inotify_event>.offset(of: \.len)!
            while offset + header <= count {
                let length = buffer.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: offset + lengthOffset, as: UInt32.self)) }
                let nameBytes = buffer[(offset + header)..<min(offset + header + length, count)].prefix { $0 != 0 }
                names.append(String(decoding: nameBytes, as: UTF8.self))
                offset += header + length
            }
        }
    }

    struct WatchError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
