import Foundation
import JWTAuthCore
import PluginKit

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

    private let config: JWTAuthConfig
    private let state = NSLock()
    private var snapshot = Snapshot()
    private var fetching = false
    private var lastFetchStart: Double = -.infinity
    private var waiters: [Scheduler] = []
    private var failures = 0
    private let homeScheduler: Scheduler?
    private var fetchCall: UInt64?
    private var refreshTimer: UInt64?

    static let fetchEventID: UInt64 = 1
    static let scheduleEventID: UInt64 = 2
    private var nextFetchDelay: Int?
    /// The last JWKS document fetched, to tell a refresh that changed nothing.
    private var lastDocument: String?
    /// The event a waiting stream gets when a fetch finished (well or not).
    static let keysChangedEventID: UInt64 = 0x4B455953 // "KEYS"

    init(config: JWTAuthConfig, scope: Scope) throws {
        self.config = config
        homeScheduler = scope.makeScheduler()
        switch config.keySource {
        case .file(let path):
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw FilterConfiguration.Invalid("jwks_file '\(path)': cannot read it (\(error.localizedDescription)); paths are relative to the gateway's working directory")
            }
            let (keys, warnings) = try Self.build(jwks: text, config: config)
            for warning in warnings { scope.log(.warning, "jwks_file '\(path)': \(warning)") }
            guard !keys.isEmpty else { throw FilterConfiguration.Invalid("jwks_file '\(path)' has no usable key") }
            snapshot = Snapshot(keys: keys, generation: 1)
        case .none:
            let (keys, _) = try Self.build(jwks: nil, config: config)
            snapshot = Snapshot(keys: keys, generation: 1)
        case .url:
            fetching = true
            homeScheduler?.post(Self.fetchEventID)
        }
    }

    /// jwt-kit builds keys in async code; at load time (control thread) that is waited for.
    private static func build(jwks: String?, config: JWTAuthConfig) throws -> (VerificationKeys, [String]) {
        let box = ResultBox()
        let semaphore = DispatchSemaphore(value: 0)
        Task.detached {
            do {
                box.result = .success(try await VerificationKeys.make(jwks: jwks, hmacSecret: config.hmacSecret, algorithms: config.policy.algorithms))
            } catch {
                box.result = .failure(error)
            }
            semaphore.signal()
        }
        semaphore.wait()
        switch box.result! {
        case .success(let built): return built
        case .failure(let error): throw FilterConfiguration.Invalid("the JWKS cannot be used: \(error)")
        }
    }

    private final class ResultBox: @unchecked Sendable {
        var result: Result<(keys: VerificationKeys, warnings: [String]), any Error>?
    }

    var current: Snapshot {
        state.lock()
        defer { state.unlock() }
        return snapshot
    }

    /// Asks for fresh keys on behalf of a waiting stream (an unknown `kid`, or no keys yet).
    /// True when the stream should wait for `keysChangedEventID`; false when no fetch may
    /// happen now (a JWKS file, or fetched too recently) and the stream should decide at once.
    func awaitRefresh(_ waiter: Scheduler, now: Double, seenGeneration: Int) -> Bool {
        guard case .url = config.keySource else { return false }
        state.lock()
        defer { state.unlock() }
        if snapshot.generation != seenGeneration { return false } // changed meanwhile: retry now
        if fetching {
            waiters.append(waiter)
            return true
        }
        guard now - lastFetchStart >= Double(config.minRefreshSeconds) else { return false }
        fetching = true
        waiters.append(waiter)
        homeScheduler?.post(Self.fetchEventID)
        return true
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
            state.lock()
            let busy = fetching
            fetching = true
            state.unlock()
            if !busy { startFetch(scope) }
        case .httpResponse where event.id == fetchCall:
            fetchCall = nil
            guard event.code == 200 else {
                fetchFailed("HTTP \(event.code) from the JWKS URL", scope: scope)
                return
            }
            let body = event.text
            state.lock()
            let unchanged = body == lastDocument && snapshot.keys != nil
            state.unlock()
            if unchanged {
                // The same document: the keys (and the verified tokens) stay as they are.
                fetched(current.keys, failure: nil, scope: scope, changed: false)
                return
            }
            let config = self.config
            Task.detached { [self] in
                do {
                    let (keys, warnings) = try await VerificationKeys.make(jwks: body, hmacSecret: config.hmacSecret, algorithms: config.policy.algorithms)
                    for warning in warnings { scope.log(.warning, "JWKS \(self.url): \(warning)") }
                    if keys.isEmpty {
                        self.fetched(nil, failure: "the JWKS has no usable key", scope: scope)
                    } else {
                        self.remember(body)
                        self.fetched(keys, failure: nil, scope: scope)
                    }
                } catch {
                    self.fetched(nil, failure: "\(error)", scope: scope)
                }
            }
        case .httpFailed where event.id == fetchCall:
            fetchCall = nil
            fetchFailed(event.text, scope: scope)
        default:
            break
        }
    }

    private func remember(_ document: String) {
        state.lock()
        lastDocument = document
        state.unlock()
    }

    private var url: String {
        if case .url(let url) = config.keySource { return url }
        return ""
    }

    private func startFetch(_ scope: Scope) {
        state.lock()
        lastFetchStart = Date().timeIntervalSince1970
        state.unlock()
        fetchCall = scope.httpCall(method: "GET", url: url, headers: [("accept", "application/json")],
                                   timeoutMilliseconds: UInt32(config.fetchTimeoutMilliseconds))
        if fetchCall == nil { fetchFailed("the gateway refused the HTTP call", scope: scope) }
    }

    private func fetchFailed(_ reason: String, scope: Scope) {
        fetched(nil, failure: reason, scope: scope)
    }

    /// Any thread: the outcome of one fetch; wakes the waiting streams and plans the next fetch.
    private func fetched(_ keys: VerificationKeys?, failure: String?, scope: Scope, changed: Bool = true) {
        state.lock()
        if let keys {
            if changed { snapshot = Snapshot(keys: keys, generation: snapshot.generation + 1) }
            failures = 0
        } else {
            failures += 1
        }
        fetching = false
        let woken = waiters
        waiters.removeAll()
        let retry = keys == nil
        let attempt = failures
        state.unlock()
        if let failure {
            scope.log(.warning, "JWKS \(url): \(failure); \(current.keys == nil ? "no keys yet, tokens cannot be verified" : "keeping the previous keys")")
        } else if let keys, changed {
            scope.log(.info, "JWKS \(url): \(keys.keyIDs.count) key(s) loaded (\(keys.keyIDs.joined(separator: ", ")))")
        }
        for waiter in woken { waiter.post(Self.keysChangedEventID) }
        // The next fetch: on schedule, or sooner (doubling from 1 s) after a failure.
        state.lock()
        nextFetchDelay = retry ? min(config.refreshSeconds * 1000, 1000 << min(attempt - 1, 10)) : config.refreshSeconds * 1000
        state.unlock()
        homeScheduler?.post(Self.scheduleEventID)
    }

    /// Starts the timer for the next fetch (on the home loop).
    private func scheduleNextFetch(_ scope: Scope) {
        state.lock()
        let delay = nextFetchDelay
        nextFetchDelay = nil
        state.unlock()
        guard let delay else { return }
        if let refreshTimer { scope.cancelTimer(refreshTimer) }
        refreshTimer = scope.startTimer(milliseconds: UInt32(delay))
    }
}
