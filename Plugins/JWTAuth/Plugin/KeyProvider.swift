import Foundation
import JWTAuthCore
import PluginKit
import Synchronization

/// The verification keys of one `jwt-auth` instance, shared by streams on every event loop.
///
/// A JWKS file is read when the configuration loads. A JWKS URL is fetched with the host's HTTP
/// call on the configuration's home loop, then every `jwks_refresh_seconds`, and again when a
/// token names an unknown `kid` (at most every `jwks_min_refresh_seconds`). A stream that needs
/// keys which are being fetched waits for that one fetch, never for more.
final class KeyProvider: @unchecked Sendable {
    /// A snapshot of the keys and the number of times they changed.
    struct Snapshot {
        var keys: VerificationKeys?
        var generation = 0
    }

    /// What streams on every loop and the fetch share.
    private struct State {
        var snapshot = Snapshot()
        var fetching = false
        var lastFetchStart: Double = -.infinity
        var waiters: [Scheduler] = []
        var failures = 0
        var nextFetchDelay: Int?
        /// The last JWKS document fetched, to tell a refresh that changed nothing.
        var lastDocument: String?
    }

    private let config: JWTAuthConfig
    private let state = Mutex(State())
    private let homeScheduler: Scheduler?
    /// Home loop only.
    private var fetchCall: UInt64?
    private var refreshTimer: UInt64?

    static let fetchEventID: UInt64 = 1
    static let scheduleEventID: UInt64 = 2
    /// The event a waiting stream gets when a fetch finished (well or not).
    static let keysChangedEventID: UInt64 = 0x4B455953 // "KEYS"

    /// Checks the key source now (a JWKS file that is missing or has no usable key fails the
    /// configuration) and builds the verifiers in the background: jwt-kit's key collection is an
    /// actor, and `config_new` must not block a thread waiting for it. Requests that arrive
    /// before the keys wait for them.
    init(config: JWTAuthConfig, scope: Scope) throws {
        self.config = config
        homeScheduler = scope.makeScheduler()
        state.withLock { $0.fetching = true }
        switch config.keySource {
        case .file(let path):
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw FilterConfiguration.Invalid("jwks_file '\(path)': cannot read it (\(error.localizedDescription)); relative paths start at the config file's directory")
            }
            let found: [VerificationKeys.Candidate]
            do {
                let (candidates, warnings) = try VerificationKeys.candidates(jwks: text, algorithms: config.policy.algorithms)
                for warning in warnings { scope.log(.warning, "jwks_file '\(path)': \(warning)") }
                found = candidates
            } catch {
                throw FilterConfiguration.Invalid("jwks_file '\(path)': \(error)")
            }
            guard !found.isEmpty || config.hmacSecret != nil else { throw FilterConfiguration.Invalid("jwks_file '\(path)' has no usable key") }
            build(jwks: text, origin: "jwks_file '\(path)'", scope: scope)
        case .none:
            build(jwks: nil, origin: "hmac_secret", scope: scope)
        case .url:
            homeScheduler?.post(Self.fetchEventID)
        }
    }

    /// Builds the verifiers of a JWKS document (any thread) and publishes them.
    private func build(jwks: String?, origin: String, scope: Scope) {
        let config = self.config
        Task.detached { [self] in
            do {
                let (keys, warnings) = try await VerificationKeys.make(jwks: jwks, hmacSecret: config.hmacSecret, algorithms: config.policy.algorithms)
                for warning in warnings { scope.log(.warning, "\(origin): \(warning)") }
                if keys.isEmpty {
                    fetched(nil, failure: "\(origin) has no usable key", scope: scope)
                } else {
                    if let jwks { remember(jwks) }
                    fetched(keys, failure: nil, scope: scope)
                }
            } catch {
                fetched(nil, failure: "\(origin): \(error)", scope: scope)
            }
        }
    }

    var current: Snapshot { state.withLock { $0.snapshot } }

    /// Asks for fresh keys on behalf of a waiting stream (an unknown `kid`, or no keys yet).
    /// True when the stream should wait for `keysChangedEventID`; false when no fetch may
    /// happen now (a JWKS file, or fetched too recently) and the stream should decide at once.
    func awaitRefresh(_ waiter: Scheduler, now: Double, seenGeneration: Int) -> Bool {
        let fetchNow = state.withLock { state -> Bool? in
            if state.snapshot.generation != seenGeneration { return nil } // changed meanwhile: retry now
            if state.fetching {
                state.waiters.append(waiter)
                return false
            }
            guard case .url = config.keySource, now - state.lastFetchStart >= Double(config.minRefreshSeconds) else { return nil }
            state.fetching = true
            state.waiters.append(waiter)
            return true
        }
        if fetchNow == true { homeScheduler?.post(Self.fetchEventID) }
        return fetchNow != nil
    }

    // MARK: home loop

    func handle(_ event: PluginEvent, scope: Scope) {
        switch event.kind {
        case .scheduled where event.id == Self.fetchEventID:
            startFetch(scope)
        case .scheduled where event.id == Self.scheduleEventID:
            scheduleNextFetch(scope)
        case .timer where event.id == refreshTimer:
            refreshTimer = nil
            let busy = state.withLock { state in
                defer { state.fetching = true }
                return state.fetching
            }
            if !busy { startFetch(scope) }
        case .httpResponse where event.id == fetchCall:
            fetchCall = nil
            guard event.code == 200 else {
                fetchFailed("JWKS \(url): HTTP \(event.code)", scope: scope)
                return
            }
            let body = event.text
            let unchanged = state.withLock { body == $0.lastDocument && $0.snapshot.keys != nil }
            if unchanged {
                // The same document: the keys (and the verified tokens) stay as they are.
                fetched(current.keys, failure: nil, scope: scope, changed: false)
                return
            }
            build(jwks: body, origin: "JWKS \(url)", scope: scope)
        case .httpFailed where event.id == fetchCall:
            fetchCall = nil
            fetchFailed("JWKS \(url): \(event.text)", scope: scope)
        default:
            break
        }
    }

    private func remember(_ document: String) { state.withLock { $0.lastDocument = document } }

    private var url: String {
        if case .url(let url) = config.keySource { return url }
        return ""
    }

    private func startFetch(_ scope: Scope) {
        state.withLock { $0.lastFetchStart = Date().timeIntervalSince1970 }
        fetchCall = scope.httpCall(method: "GET", url: url, headers: [("accept", "application/json")],
                                   timeoutMilliseconds: UInt32(config.fetchTimeoutMilliseconds))
        if fetchCall == nil { fetchFailed("JWKS \(url): the gateway refused the HTTP call", scope: scope) }
    }

    private func fetchFailed(_ reason: String, scope: Scope) {
        fetched(nil, failure: reason, scope: scope)
    }

    /// Any thread: the outcome of one fetch; wakes the waiting streams and plans the next fetch.
    private func fetched(_ keys: VerificationKeys?, failure: String?, scope: Scope, changed: Bool = true) {
        let retry = keys == nil
        let (woken, attempt) = state.withLock { state in
            if let keys {
                if changed { state.snapshot = Snapshot(keys: keys, generation: state.snapshot.generation + 1) }
                state.failures = 0
            } else {
                state.failures += 1
            }
            state.fetching = false
            defer { state.waiters.removeAll() }
            return (state.waiters, state.failures)
        }
        let source = url.isEmpty ? "keys" : "JWKS \(url)"
        if let failure {
            scope.log(.warning, "\(failure); \(current.keys == nil ? "no keys yet, tokens cannot be verified" : "keeping the previous keys")")
        } else if let keys, changed {
            scope.log(.info, "\(source): \(keys.keyIDs.count) key(s) loaded (\(keys.keyIDs.joined(separator: ", ")))")
        }
        for waiter in woken { waiter.post(Self.keysChangedEventID) }
        guard case .url = config.keySource else { return }
        // The next fetch: on schedule, or sooner (doubling from 1 s) after a failure.
        let delay = retry ? min(config.refreshSeconds * 1000, 1000 << min(attempt - 1, 10)) : config.refreshSeconds * 1000
        state.withLock { $0.nextFetchDelay = delay }
        homeScheduler?.post(Self.scheduleEventID)
    }

    /// Starts the timer for the next fetch (on the home loop).
    private func scheduleNextFetch(_ scope: Scope) {
        let delay = state.withLock { state in
            defer { state.nextFetchDelay = nil }
            return state.nextFetchDelay
        }
        guard let delay else { return }
        if let refreshTimer { scope.cancelTimer(refreshTimer) }
        refreshTimer = scope.startTimer(milliseconds: UInt32(delay))
    }
}
