import Synchronization
import NIOCore
import NIOSSL
#if canImport(Glibc)
import Glibc
#endif

/// Keep-alive pools for plugins' HTTP calls: per event loop, one pool per origin, each touched
/// only on its own loop (the lock guards only the per-loop lookup).
///
/// Plugins call the same few URLs over and over, so each loop remembers the last few URLs it
/// was given, as bytes, with their parsed target and pool: a repeated URL costs one byte
/// comparison instead of a parse, a `String` per part and a dictionary lookup.
final class HTTPCallPools: Sendable {
    /// A URL seen recently on a loop: its bytes, what they parse to, and the pool for its origin.
    private struct Recent {
        let url: [UInt8]
        let target: CallTarget
        let pool: ConnectionPool
    }

    private final class LoopPools: @unchecked Sendable {
        var pools: [ConnectionPool.Origin: ConnectionPool] = [:]
        /// Deadline tables by timeout in milliseconds (plugins use a few timeouts over and over).
        var timeouts: [Int64: HeadTimeouts] = [:]
        /// The last `recentCapacity` URLs, replaced oldest first.
        var recent: [Recent] = []
        var nextReplaced = 0
    }

    /// How many URLs a loop remembers; a URL longer than `recentMaxBytes` is parsed each time.
    static let recentCapacity = 16
    static let recentMaxBytes = 512

    private let loops = Mutex<[ObjectIdentifier: LoopPools]>([:])
    private let tls: NIOSSLContext?

    init() {
        tls = try? NIOSSLContext(configuration: .makeClientConfiguration())
    }

    /// The parsed `url`, its origin's pool on `loop`, and the deadline table for
    /// `timeoutMilliseconds` there (call on `loop`). Nil when the URL is not an absolute http(s)
    /// URL (`invalidURL`), or for https when TLS is unavailable.
    func route(url: UnsafeRawBufferPointer, timeoutMilliseconds: Int64, on loop: EventLoop)
        -> (target: CallTarget, pool: ConnectionPool, timeouts: HeadTimeouts)? {
        let local = loopPools(loop)
        guard let (target, pool) = target(url: url, in: local, on: loop) else { return nil }
        return (target, pool, timeouts(timeoutMilliseconds, in: local, on: loop))
    }

    private func loopPools(_ loop: EventLoop) -> LoopPools {
        let key = ObjectIdentifier(loop)
        return loops.withLock { loops in
            if let existing = loops[key] { return existing }
            let created = LoopPools()
            loops[key] = created
            return created
        }
    }

    private func target(url: UnsafeRawBufferPointer, in local: LoopPools, on loop: EventLoop) -> (CallTarget, ConnectionPool)? {
        for recent in local.recent where recent.url.count == url.count {
            let same = recent.url.withUnsafeBytes { known in
                url.count == 0 || memcmp(known.baseAddress!, url.baseAddress!, url.count) == 0
            }
            if same { return (recent.target, recent.pool) }
        }
        guard let target = CallTarget(url: url), let pool = pool(for: target.origin, in: local, on: loop) else { return nil }
        if url.count <= Self.recentMaxBytes {
            let entry = Recent(url: Array(url), target: target, pool: pool)
            if local.recent.count < Self.recentCapacity {
                local.recent.append(entry)
            } else {
                local.recent[local.nextReplaced] = entry
                local.nextReplaced = (local.nextReplaced + 1) % Self.recentCapacity
            }
        }
        return (target, pool)
    }

    private func timeouts(_ milliseconds: Int64, in local: LoopPools, on loop: EventLoop) -> HeadTimeouts {
        if let table = local.timeouts[milliseconds] { return table }
        let table = HeadTimeouts(eventLoop: loop, timeout: .milliseconds(milliseconds))
        local.timeouts[milliseconds] = table
        return table
    }

    private func pool(for origin: ConnectionPool.Origin, in local: LoopPools, on loop: EventLoop) -> ConnectionPool? {
        if let pool = local.pools[origin] { return pool }
        if origin.scheme == "https", tls == nil { return nil }
        let pool = ConnectionPool(origin: origin, eventLoop: loop, connectTimeout: .seconds(5), requestTimeout: nil,
                                  sslContext: origin.scheme == "https" ? tls : nil)
        local.pools[origin] = pool
        return pool
    }
}
