import Foundation
import Logging
import NIOCore

/// The one way the configuration changes, whatever the source (SIGHUP, the file watch, the
/// admin API, xDS): validate, build, swap, drain.
///
/// 1. The new TOML is parsed and checked (`ConfigLoader`); 2. the next generation is built off the
///    request path (`GatewayRuntime.build`: plugins loaded or found, instances taken over from the
///    running generation where their config is unchanged, new ones created with `config_new`,
///    TLS files read); 3. the sockets it adds are bound (`ListenerSet`); 4. it replaces the running
///    generation atomically (`LiveRuntime`): new requests use it, requests in flight finish on the
///    old one; 5. sockets it dropped stop accepting; 6. once the old generation's last request is
///    over, its instances the new one did not keep are destroyed (`config_destroy`).
/// A failure at any step before 4 changes nothing: the old generation keeps serving, and the
/// error is logged, returned to the source, recorded and counted. One change at a time (actor).
actor ConfigReloader {
    private let live: LiveRuntime
    private let listeners: ListenerSet
    private let registry: PluginRegistry
    private let pool: InstancePool
    private let services: HostServices
    /// The config file (SIGHUP and the watch read it; relative paths in any source resolve
    /// against its directory).
    let file: String
    /// The TOML text of the running generation (`GET /config` shows it redacted).
    private(set) var runningText: String
    /// The running configuration as the file (or the admin API) gave it, before xDS.
    private var staticConfig: GatewayConfig
    /// The control plane's resources being served.
    private var xds = XDSSnapshot()
    private var history: ReloadHistory
    /// The bytes the file watch tried last, so an editor's extra writes do not reload again.
    private var lastWatchedText: String?
    private var logger: Logger { services.logger }

    init(live: LiveRuntime, listeners: ListenerSet, registry: PluginRegistry, pool: InstancePool,
         services: HostServices, file: String, runningText: String) {
        self.live = live
        self.listeners = listeners
        self.registry = registry
        self.pool = pool
        self.services = services
        self.file = file
        self.runningText = runningText
        self.staticConfig = live.runtime.config
        self.lastWatchedText = runningText
        var history = ReloadHistory(metrics: services.gatewayMetrics.catalog)
        history.append(ReloadRecord(generation: live.runtime.generation, time: Date(), source: .startup, result: .applied,
                                    newInstances: live.runtime.routes.routes.reduce(0) { $0 + $1.stages.count }))
        self.history = history
    }

    /// `runningText` with its secrets redacted (`GET /config`), computed once per text, and the
    /// names of the resources the control plane added.
    var redactedRunningText: String {
        let text: String
        if let cached = redacted, cached.text == runningText {
            text = cached.redacted
        } else {
            text = ConfigRedactor.redact(runningText)
            redacted = (runningText, text)
        }
        guard !xds.isEmpty else { return text }
        var summary = "\n# From xDS (merged after the above; the file wins on a name conflict):\n"
        for type in XDSResourceType.allCases {
            for name in xds.names(type).sorted() { summary += "#   \(type.kind) '\(name)'\n" }
        }
        return text + summary
    }
    private var redacted: (text: String, redacted: String)?

    /// Recent attempts, oldest first.
    var records: [ReloadRecord] { history.records }

    /// Applies `text` (nil: the config file read again) from `source`; with `dryRun`, only
    /// validates (plugins are loaded, instances created and new sockets bound, then all undone). Never throws: the
    /// record says what happened.
    func reload(from source: ConfigSource, text: String? = nil, dryRun: Bool = false) async -> ReloadRecord {
        let started = ContinuousClock.now
        let running = live.runtime
        var record = ReloadRecord(generation: running.generation, time: Date(), source: source, result: .rejected)
        let newText: String
        do {
            newText = try text ?? String(contentsOfFile: file, encoding: .utf8)
        } catch {
            return finish(&record, started: started, error: "\(file): cannot read the config file: \(error.localizedDescription)")
        }
        if source == .fileWatch {
            if newText == lastWatchedText {
                record.result = .unchanged
                return finish(&record, started: started, error: nil)
            }
            lastWatchedText = newText
        }
        let config: GatewayConfig
        if newText == runningText {
            // The same text (SIGHUP to pick up a replaced .so or certificate): not parsed again.
            config = staticConfig
        } else {
            do {
                var parsed = try ConfigLoader.parse(newText, file: file)
                parsed.resolvePaths(relativeTo: URL(fileURLWithPath: file).deletingLastPathComponent().path)
                config = parsed
            } catch {
                return finish(&record, started: started, error: "\(error)")
            }
        }
        if config.eventLoops != running.config.eventLoops {
            logger.warning("gateway.event_loops changes only at a restart; keeping \(running.config.eventLoops)")
        }
        if config.xds != running.config.xds {
            logger.warning("[xds] changes only at a restart; the control plane of the start is kept")
        }
        return await apply(staticConfig: config, xds: xds, text: newText, record: &record, started: started, dryRun: dryRun)
    }

    /// Applies what a control plane sent, on top of the file's configuration. The record's error
    /// names the resource at fault (for the NACK).
    func apply(xds snapshot: XDSSnapshot) async -> ReloadRecord {
        let started = ContinuousClock.now
        var record = ReloadRecord(generation: live.runtime.generation, time: Date(), source: .xds, result: .rejected)
        return await apply(staticConfig: staticConfig, xds: snapshot, text: runningText, record: &record, started: started, dryRun: false)
    }

    /// The resources from the control plane being served.
    var xdsResources: XDSSnapshot { xds }

    private func apply(staticConfig candidate: GatewayConfig, xds snapshot: XDSSnapshot, text newText: String,
                       record: inout ReloadRecord, started: ContinuousClock.Instant, dryRun: Bool) async -> ReloadRecord {
        let running = live.runtime
        let (config, shadowed, origins) = candidate.merging(snapshot)
        for name in shadowed where !xds.isEmpty || !snapshot.isEmpty {
            logger.warning("xDS resource ignored: the config file has one of the same name", metadata: ["resource": "\(name)"])
        }
        func attributed(_ error: Error) -> String {
            var text = "\(error)"
            for (index, name) in origins.sorted(by: { $0.key > $1.key }) {
                text = text.replacingOccurrences(of: "routes[\(index)]", with: "routes[\(index)] (xDS Route '\(name)')")
            }
            let staticListeners = candidate.listeners.count
            for (index, listener) in config.listeners.enumerated().reversed() where index >= staticListeners {
                text = text.replacingOccurrences(of: "listeners[\(index)]", with: "listeners[\(index)] (xDS Listener '\(listener.name)')")
            }
            return text
        }
        let next: GatewayRuntime
        do {
            try ConfigRules.validate(config, file: file)
            next = try await GatewayRuntime.build(config: config, services: services, file: file, registry: registry,
                                                  pool: pool, generation: running.generation + 1)
        } catch {
            return finish(&record, started: started, error: attributed(error))
        }
        record.reusedInstances = next.reusedInstances
        record.newInstances = next.routes.routes.reduce(0) { $0 + $1.stages.count } - next.reusedInstances
        do {
            let added = try await listeners.bind(for: next, file: file)
            if dryRun {
                await listeners.unbind(added)
                await next.shutdown()
                record.result = .validated
                return finish(&record, started: started, error: nil)
            }
            if let problem = services.accessLog.use(path: config.accessLog?.path) {
                await listeners.unbind(added)
                await next.shutdown()
                return finish(&record, started: started, error: "access_log.path: \(problem)")
            }
        } catch {
            await next.shutdown()
            return finish(&record, started: started, error: attributed(error))
        }
        live.replace(with: next) { retired in
            Task { await retired.shutdown() }
        }
        await listeners.close(unusedBy: next)
        runningText = newText
        staticConfig = candidate
        xds = snapshot
        record.generation = next.generation
        record.result = .applied
        return finish(&record, started: started, error: nil)
    }

    private func finish(_ record: inout ReloadRecord, started: ContinuousClock.Instant, error: String?) -> ReloadRecord {
        record.error = error
        let elapsed = (ContinuousClock.now - started).components
        record.milliseconds = Double(elapsed.seconds) * 1000 + Double(elapsed.attoseconds) / 1e15
        var metadata: Logger.Metadata = ["source": "\(record.source.rawValue)", "generation": "\(record.generation)"]
        switch record.result {
        case .applied:
            metadata["reused_instances"] = "\(record.reusedInstances)"
            metadata["new_instances"] = "\(record.newInstances)"
            logger.notice("configuration applied", metadata: metadata)
        case .validated:
            logger.info("configuration valid (dry run)", metadata: metadata)
        case .unchanged:
            logger.debug("config file unchanged", metadata: metadata)
        case .rejected:
            metadata["error"] = "\(error ?? "?")"
            logger.error("configuration rejected; the running one keeps serving", metadata: metadata)
        }
        history.append(record)
        return record
    }
}
