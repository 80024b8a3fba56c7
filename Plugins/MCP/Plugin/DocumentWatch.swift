import Dispatch
import MCPCore
import OpenAPITools
import PluginKit
import Synchronization

/// Watches a route's `openapi` targets whose document is a file: on every few sweep ticks of the
/// home loop it compares each file's ``FileStamp``, and reads a changed one again on a queue of
/// its own (a large document takes milliseconds to parse, which an event loop must not spend);
/// the results wait here until the home loop takes them to the federation.
final class DocumentWatch: Sendable {
    typealias Reread = (targetIndex: Int, result: Result<OpenAPICatalog, ConfigTableError>)

    /// 4 sweeps of 250 ms: a saved document is served within about a second.
    static let checkEveryTicks = 4

    private struct State {
        var stamps: [Int: FileStamp?]
        var reading: Set<Int> = []
        var ticks = 0
        var results: [Reread] = []
    }

    private let targets: [(targetIndex: Int, target: OpenAPITarget, file: String)]
    private let state: Mutex<State>
    private let queue = DispatchQueue(label: "agentgateway.mcp.openapi-documents")

    init(_ watched: [(targetIndex: Int, target: OpenAPITarget)]) {
        targets = watched.compactMap { entry in
            guard case .file(let file) = entry.target.source else { return nil }
            return (entry.targetIndex, entry.target, file)
        }
        state = Mutex(State(stamps: Dictionary(uniqueKeysWithValues: watched.map { ($0.targetIndex, $0.target.stamp) })))
    }

    /// One sweep tick (home loop). When a check is due, each changed file not being read already
    /// is read; `done` runs (on the queue) after each read, to wake the home loop.
    func tick(done: @escaping @Sendable () -> Void) {
        guard !targets.isEmpty else { return }
        let due = state.withLock { state in
            state.ticks += 1
            return state.ticks % Self.checkEveryTicks == 0
        }
        guard due else { return }
        for entry in targets {
            let stamp = FileStamp(of: entry.file)
            let changed = state.withLock { state in
                guard !state.reading.contains(entry.targetIndex), state.stamps[entry.targetIndex] != stamp else { return false }
                state.stamps[entry.targetIndex] = stamp
                state.reading.insert(entry.targetIndex)
                return true
            }
            guard changed else { continue }
            queue.async { [self] in
                let result = Result { () throws(ConfigTableError) in try entry.target.reread(path: "targets[\(entry.targetIndex)]") }
                state.withLock { state in
                    state.reading.remove(entry.targetIndex)
                    state.results.append((entry.targetIndex, result))
                }
                done()
            }
        }
    }

    /// The reads finished since the last call.
    func takeResults() -> [Reread] {
        state.withLock { state in
            defer { state.results.removeAll() }
            return state.results
        }
    }
}
