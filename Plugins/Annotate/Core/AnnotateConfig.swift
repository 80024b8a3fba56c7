import CEL
import PluginKit
import PolicyKit

/// The `annotate` filter's configuration: named fields, each a CEL expression over the policy
/// variables (``PolicyVariables``), added to the request's access-log line and span.
public struct AnnotateConfig: Sendable {
    public struct Field: Sendable {
        public var name: String
        public var program: Program
        /// It reads `mcp` or `a2a`: evaluated on each JSON-RPC message, not on the request.
        public var perMessage: Bool
    }

    public var fields: [Field]

    public init(json: String) throws(ConfigTableError) {
        var reader = try ConfigTableReader(json: json)
        let sources = try reader.stringTable("fields") ?? [:]
        try reader.finish()
        guard !sources.isEmpty else { throw ConfigTableError("'fields' is required: a table of name = \"CEL expression\", e.g. fields = { tenant = \"jwt.tenant\" }") }
        fields = []
        for name in sources.keys.sorted() {
            guard Self.isValidName(name) else {
                throw ConfigTableError("fields.\(name): a field name is letters, digits, '_', '.' and '-'")
            }
            do {
                let program = try Program.compile(sources[name]!, declarations: PolicyVariables.message)
                fields.append(Field(name: name, program: program, perMessage: PolicyVariables.needsMessage(program)))
            } catch {
                throw ConfigTableError("fields.\(name): \(error)")
            }
        }
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || [UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-")].contains(byte)
        }
    }

    /// A field's value as text: scalars as they are, anything else (a list, a map) as null.
    public static func text(_ value: Value) -> String? { value.text }
}
