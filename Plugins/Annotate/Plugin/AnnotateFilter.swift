import AnnotateCore
import PluginKit
import PolicyKit

/// The `annotate` filter: computes fields from CEL expressions and annotates the request with
/// them (`annotate`), so they appear in its access-log line and on its span. Request fields are
/// evaluated when the stream ends (after authentication filters named the caller, even for a
/// refused request); message fields (reading `mcp` or `a2a`) on each JSON-RPC message. An
/// expression that fails to evaluate (a missing claim) leaves its field out.
final class AnnotateFilter: Filter, RPCFilter, @unchecked Sendable {
    static let name = "annotate"

    let config: AnnotateConfig
    private let requestFields: [AnnotateConfig.Field]
    private let messageFields: [AnnotateConfig.Field]

    init(configuration: FilterConfiguration) throws {
        do {
            config = try AnnotateConfig(json: configuration.json)
        } catch {
            throw FilterConfiguration.Invalid(error.description)
        }
        requestFields = config.fields.filter { !$0.perMessage }
        messageFields = config.fields.filter(\.perMessage)
    }

    func wantsRPCMessage(kind: RPCMessage.Kind, fromClient: Bool) -> Bool { !messageFields.isEmpty && kind != .listItem }

    func rpcMessage(_ message: RPCMessage, stream: FilterStream) -> FilterStatus {
        guard wantsRPCMessage(kind: message.kind, fromClient: message.isFromClient), stream.wantsAnnotation() else { return .continue }
        annotate(messageFields, StreamActivation(stream: stream, message: message), stream)
        return .continue
    }

    func streamComplete(_ stream: FilterStream) {
        guard !requestFields.isEmpty, stream.wantsAnnotation() else { return }
        annotate(requestFields, StreamActivation(stream: stream), stream)
    }

    private func annotate(_ fields: [AnnotateConfig.Field], _ activation: StreamActivation, _ stream: FilterStream) {
        for field in fields where stream.wantsAnnotation(field.name) {
            guard let value = try? field.program.evaluate(activation), let text = AnnotateConfig.text(value) else { continue }
            stream.annotate(field.name, text)
        }
    }
}

/// The annotate plugin: one filter type, `annotate`. Its entry point is `Plugins/Annotate/Entry`.
public enum AnnotatePluginExports {
    public static let name = "annotate"
    public static let version = "0.1.0"
    public static let filters: [any Filter.Type] = [AnnotateFilter.self]
}
