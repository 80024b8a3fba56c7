import Foundation
import PluginABI
import PluginKit

/// One configured filter (or handler) instance in a ``FakeHost``: the plugin's config context
/// and its config scope (timers, HTTP calls and processes it owns; events go to its
/// `on_config_event`). Destroyed (`config_destroy`) when released.
public final class FakeFilter {
    let host: FakeHost
    let type: UnsafePointer<agw_filter_type>
    public let instanceName: String
    private(set) var context: UnsafeMutableRawPointer?
    var rejection: String?
    private var madeScope: FakeScope?
    var scope: FakeScope {
        if let madeScope { return madeScope }
        let scope = FakeScope(host: host, owner: .config(self))
        madeScope = scope
        return scope
    }
    /// The directory relative paths in the config resolve against (`config_directory`).
    public let directory: String
    private let directoryBytes: UnsafeMutableBufferPointer<CChar>

    init(host: FakeHost, type: UnsafePointer<agw_filter_type>, instanceName: String,
         directory: String = FileManager.default.currentDirectoryPath) {
        self.host = host
        self.type = type
        self.instanceName = instanceName
        self.directory = directory
        directoryBytes = .allocate(capacity: directory.utf8.count + 1)
        _ = directoryBytes.initialize(from: directory.utf8CString)
    }

    deinit {
        madeScope?.close()
        if let context { type.pointee.config_destroy?(context) }
        directoryBytes.deallocate()
    }

    var handle: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }
    static func from(_ handle: OpaquePointer) -> FakeFilter { Unmanaged<FakeFilter>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue() }

    /// Whether it is a handler (a route's terminal).
    public var isHandler: Bool { type.pointee.kind == AGW_KIND_HANDLER }

    var directoryView: agw_str { agw_str(ptr: directoryBytes.baseAddress, len: directory.utf8.count) }

    func create(config: String) throws {
        let created: UnsafeMutableRawPointer? = instanceName.withCString { name in
            config.withCString { json in
                type.pointee.config_new(type, handle, agw_str(ptr: name, len: instanceName.utf8.count), agw_str(ptr: json, len: config.utf8.count))
            }
        }
        guard let created else { throw FakeHostError(message: rejection ?? "config_new returned NULL without saying why") }
        context = created
    }
}

/// The owner of a plugin's async work: a filter's configuration, or a filter on a stream.
final class FakeScope {
    enum Owner {
        case config(FakeFilter)
        case stream(FakeStream, stage: Int)
    }

    /// Weak all round: the filter or stream owns its scope, the host its work's scopes.
    private(set) weak var hostReference: FakeHost?
    private weak var filter: FakeFilter?
    private weak var stream: FakeStream?
    private let stage: Int
    private(set) var isClosed = false

    init(host: FakeHost, owner: Owner) {
        hostReference = host
        switch owner {
        case .config(let filter):
            self.filter = filter
            stage = -1
        case .stream(let stream, let stage):
            self.stream = stream
            self.stage = stage
        }
    }

    /// The host (alive while any of its filters or streams is).
    var host: FakeHost { hostReference! }

    var owner: Owner? {
        if let filter { return .config(filter) }
        if let stream { return .stream(stream, stage: stage) }
        return nil
    }

    var handle: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }
    static func from(_ handle: OpaquePointer) -> FakeScope { Unmanaged<FakeScope>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue() }

    /// Its work stops: timers do not fire, calls deliver nothing, processes are terminated.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        guard let host = hostReference else { return }
        host.timers.removeAll { $0.scope === self }
        for call in host.calls where call.scope === self { call.cancel() }
        for process in host.processes where process.scope === self { process.terminate() }
    }

    /// Delivers an event to the owner's hook (`on_event` or `on_config_event`).
    func deliver(type: agw_event_type, id: UInt64, code: Int32 = 0, endOfStream: Bool = false, headers: [(String, String)] = [],
                 data: [UInt8] = []) {
        guard !isClosed, let owner else { return }
        withEvent(type: type, id: id, code: code, endOfStream: endOfStream, headers: headers, data: data) { event in
            switch owner {
            case .config(let filter):
                guard let context = filter.context else { return }
                filter.type.pointee.on_config_event?(context, filter.handle, event)
            case .stream(let stream, let stage):
                stream.deliver(event, toStage: stage)
            }
        }
    }

    private func withEvent(type: agw_event_type, id: UInt64, code: Int32, endOfStream: Bool, headers: [(String, String)], data: [UInt8],
                           _ body: (UnsafePointer<agw_event>) -> Void) {
        var storage = ViewStorage()
        let views = headers.map { agw_header(name: storage.store(Array($0.0.utf8)), value: storage.store(Array($0.1.utf8))) }
        let payload = storage.store(data)
        views.withUnsafeBufferPointer { headerViews in
            var event = agw_event(struct_size: UInt32(MemoryLayout<agw_event>.size), type: type, id: id, code: code,
                                  end_of_stream: endOfStream ? 1 : 0, headers: headers.isEmpty ? nil : headerViews.baseAddress,
                                  header_count: headers.count, data: payload)
            withUnsafePointer(to: &event) { body($0) }
        }
        storage.free()
    }
}

/// A scheduler a plugin made (`scheduler_new`): its posts wait for ``FakeHost/run()``.
final class FakeScheduler: @unchecked Sendable {
    let scope: FakeScope
    init(scope: FakeScope) { self.scope = scope }
}

/// Bytes handed to a plugin as views, freed when the call that needed them returns.
struct ViewStorage {
    private var blocks: [UnsafeMutableRawBufferPointer] = []

    mutating func store(_ bytes: [UInt8]) -> agw_str {
        guard !bytes.isEmpty else { return agw_str(ptr: nil, len: 0) }
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        block.copyBytes(from: bytes)
        blocks.append(block)
        return agw_str(ptr: block.baseAddress!.assumingMemoryBound(to: CChar.self), len: bytes.count)
    }

    mutating func store(_ text: String) -> agw_str { store(Array(text.utf8)) }

    /// Overwrites, then frees: a plugin that kept a pointer past the callback reads 0xEE, not its data.
    mutating func free() {
        blocks.forEach { $0.initializeMemory(as: UInt8.self, repeating: 0xEE); $0.deallocate() }
        blocks.removeAll()
    }
}
