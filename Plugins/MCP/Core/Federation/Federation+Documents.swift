import JSON
import JSONRPC
import OpenAPITools
import PluginKit

/// An `openapi` target's document file changed on disk and was read again (the glue watches the
/// file and reads it off the loop): its tools are replaced and every session's GET stream is told
/// (`notifications/tools/list_changed`), or, when the new version is broken, the tools read
/// before stay and the error is logged.
extension Federation {
    /// The file targets to watch: their index, file and the stamp their tools were read at.
    public var watchedDocuments: [(targetIndex: Int, target: OpenAPITarget)] {
        config.targets.indices.compactMap { index in
            guard case .openapi(let api) = config.targets[index].transport, case .file = api.source else { return nil }
            return (index, api)
        }
    }

    /// The outcome of reading target `targetIndex`'s document again.
    public mutating func documentReread(targetIndex: Int, _ result: Result<OpenAPICatalog, ConfigTableError>, now: Double) -> [FederationAction] {
        self.now = now
        guard config.targets.indices.contains(targetIndex), let connection = connections[shared[targetIndex]],
              case .openapi(let transport) = connection.transport else { return take() }
        switch result {
        case .failure(let error):
            log(.warning, "target '\(connection.name)': its OpenAPI document changed but cannot be used (\(error.description)); "
                + "its tools stay as they were")
        case .success(let catalog):
            transport.replace(catalog)
            log(.info, "target '\(connection.name)': its OpenAPI document changed; \(catalog.tools.count) tool(s) now")
            for reason in catalog.skipped { log(.warning, "target '\(connection.name)': operation left out: \(reason)") }
            let notification = JSONText.request(id: nil, method: "notifications/tools/list_changed", params: [UInt8]?.none)
            for listener in listeners(of: connection) { emit(.deliver(listener, .message(notification))) }
        }
        return take()
    }
}
