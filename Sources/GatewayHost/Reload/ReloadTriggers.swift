import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the config file on `SIGHUP`, and when the file changes (unless `watch_config = false`).
/// Both go through `ConfigReloader`; the admin API and xDS call it directly.
struct ReloadTriggers: Service {
    let reloader: ConfigReloader
    let watch: Bool
    let logger: Logger
    /// Quiet time after a change before the file is read (editors write in bursts).
    var debounce: Duration = .milliseconds(250)

    func run() async throws {
        let reloader = self.reloader
        let signals = await UnixSignalsSequence(trapping: .sighup)
        let changes: AsyncStream<Void>?
        if watch {
            switch ConfigFileWatcher.changes(of: reloader.file) {
            case .success(let stream):
                changes = stream
                logger.info("watching the config file", metadata: ["file": "\(reloader.file)"])
            case .failure(let error):
                changes = nil
                logger.warning("cannot watch the config file; reload it with SIGHUP or the admin API", metadata: ["error": "\(error)"])
            }
        } else {
            changes = nil
        }
        let debounce = self.debounce
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in signals.cancelOnGracefulShutdown() { _ = await reloader.reload(from: .signal) }
            }
            if let changes {
                group.addTask {
                    for await _ in changes.cancelOnGracefulShutdown() {
                        try? await Task.sleep(for: debounce)
                        _ = await reloader.reload(from: .fileWatch)
                    }
                }
            }
        }
    }
}
