#if canImport(Glibc)
import Glibc
#endif
import Logging

/// The process's open-file limit: raised to its hard limit at start (each client connection,
/// upstream connection and child pipe is a file descriptor), and what a listener keeps open by
/// default (`max_connections`): the limit less a reserve for upstreams, children, logs and the
/// config, so a flood of clients meets the gateway's 503, not `EMFILE`.
enum FileDescriptorLimit {
    /// Raises the soft limit to the hard one; logs both. Returns the soft limit in force.
    @discardableResult
    static func raise(logger: Logger) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        let before = limit.rlim_cur
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        logger.info("open-file limit", metadata: ["soft_before": "\(before)", "soft": "\(limit.rlim_cur)", "hard": "\(limit.rlim_max)",
                                                  "default_max_connections": "\(connections(forLimit: Int(limit.rlim_cur)))"])
        return Int(limit.rlim_cur)
    }

    /// The soft limit now.
    static var current: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return limit.rlim_cur > UInt64(1 << 30) ? 1 << 20 : Int(limit.rlim_cur)  // RLIM_INFINITY and the like
    }

    /// `max_connections` when a listener does not set it.
    static var defaultMaxConnections: Int { connections(forLimit: current) }

    static func connections(forLimit limit: Int) -> Int {
        max(16, limit - max(256, limit / 10))
    }
}
