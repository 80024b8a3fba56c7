import Foundation
import OpenAPIKit
import OpenAPIKit30
import OpenAPIKitCompat
import Yams

/// A document that cannot become tools, and what to fix: the message names the file or URL and,
/// for a reference, the JSON pointer.
public struct OpenAPISpecError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Reads an OpenAPI document (JSON or YAML, 3.0 or 3.1) into OpenAPIKit's 3.1 model with every
/// local `$ref` resolved. A 3.0 document is converted with OpenAPIKitCompat (its `nullable`
/// becomes a `null` type).
///
/// References are checked on the raw document first (``ReferenceCheck``): OpenAPIKit refuses
/// external references and cycles too, but without saying where they are, and a user fixing a
/// third-party document needs the pointer.
enum OpenAPIDocumentReader {
    static func read(_ bytes: [UInt8], source: String) throws(OpenAPISpecError) -> OpenAPIKit.DereferencedDocument {
        let text = String(decoding: bytes, as: UTF8.self)
        let isJSON = bytes.first(where: { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }) == UInt8(ascii: "{")
        let tree: Any
        do {
            tree = isJSON ? try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
                : try Yams.load(yaml: text) ?? NSNull()
        } catch {
            throw OpenAPISpecError("\(source) is not valid \(isJSON ? "JSON" : "YAML"): \(Self.brief(error))")
        }
        guard let root = tree as? [String: Any] else {
            throw OpenAPISpecError("\(source) is not an OpenAPI document (its top level is not an object)")
        }
        guard let version = root["openapi"] as? String else {
            if root["swagger"] != nil {
                throw OpenAPISpecError("\(source) is a Swagger 2.0 document; convert it to OpenAPI 3.0 or 3.1 first")
            }
            throw OpenAPISpecError("\(source) is not an OpenAPI document: it has no 'openapi' version field")
        }
        try ReferenceCheck(root: root, source: source).run()
        let document: OpenAPIKit.OpenAPI.Document
        do {
            if version.hasPrefix("3.0") {
                let old: OpenAPIKit30.OpenAPI.Document = try decode(text, bytes: bytes, isJSON: isJSON)
                document = old.convert(to: .v3_1_1)
            } else if version.hasPrefix("3.1") || version.hasPrefix("3.2") {
                document = try decode(text, bytes: bytes, isJSON: isJSON)
            } else {
                throw OpenAPISpecError("\(source) declares openapi \(version); the gateway reads 3.0, 3.1 and 3.2 documents")
            }
        } catch let error as OpenAPISpecError {
            throw error
        } catch {
            let detail = version.hasPrefix("3.0") ? OpenAPIKit30.OpenAPI.Error(from: error).localizedDescription
                : OpenAPIKit.OpenAPI.Error(from: error).localizedDescription
            throw OpenAPISpecError("\(source) is not a valid OpenAPI \(version) document: \(detail)")
        }
        do {
            return try document.locallyDereferenced()
        } catch {
            throw OpenAPISpecError("\(source): a reference cannot be resolved: \(error)")
        }
    }

    private static func decode<T: Decodable>(_ text: String, bytes: [UInt8], isJSON: Bool) throws -> T {
        isJSON ? try JSONDecoder().decode(T.self, from: Data(bytes)) : try YAMLDecoder().decode(T.self, from: text)
    }

    /// The first line of a parser's error.
    static func brief(_ error: any Error) -> String {
        let text = (error as? YamlError).map { "\($0)" } ?? (error as NSError).localizedDescription
        return String(text.split(separator: "\n").first ?? "")
    }
}

/// Every `$ref` of a raw document: local ones must point at something, none may be external,
/// and no chain of them may lead back to where it started.
struct ReferenceCheck {
    let root: [String: Any]
    let source: String

    func run() throws(OpenAPISpecError) {
        var references: [(at: String, target: String)] = []
        collect(root, at: "#", into: &references)
        for reference in references {
            guard reference.target.hasPrefix("#") else {
                throw OpenAPISpecError("\(source): the $ref at \(reference.at) points outside the document ('\(reference.target)'); "
                    + "the gateway reads self-contained documents only: bundle it first (e.g. `redocly bundle`)")
            }
            guard resolve(reference.target) != nil else {
                throw OpenAPISpecError("\(source): the $ref at \(reference.at) points to \(reference.target), which does not exist")
            }
        }
        // Cycles: follow the references inside each target, depth-first; `stack` is the chain
        // being followed, `done` what is known to end.
        var done = Set<String>()
        for reference in references {
            var stack: [String] = []
            try visit(reference.target, stack: &stack, done: &done)
        }
    }

    private func visit(_ target: String, stack: inout [String], done: inout Set<String>) throws(OpenAPISpecError) {
        if done.contains(target) { return }
        if let start = stack.firstIndex(of: target) {
            let chain = (stack[start...] + [target]).joined(separator: " -> ")
            throw OpenAPISpecError("\(source): $ref cycle \(chain); the gateway inlines every schema into its tools, so "
                + "recursive schemas are refused: replace the recursive property with a plain 'type: object'")
        }
        stack.append(target)
        var inner: [(at: String, target: String)] = []
        if let node = resolve(target) { collect(node, at: target, into: &inner) }
        for reference in inner where reference.target.hasPrefix("#") { try visit(reference.target, stack: &stack, done: &done) }
        stack.removeLast()
        done.insert(target)
    }

    private func collect(_ node: Any, at pointer: String, into references: inout [(at: String, target: String)]) {
        if let object = node as? [String: Any] {
            if let target = object["$ref"] as? String { references.append((pointer, target)) }
            for key in object.keys.sorted() where key != "$ref" {
                let value = object[key]!
                // Examples are data: a "$ref" key inside one is not a reference.
                if key == "example" || (key == "examples" && value is [Any]) || (key == "value" && pointer.contains("/examples/")) { continue }
                collect(value, at: pointer + "/" + Self.escape(key), into: &references)
            }
        } else if let array = node as? [Any] {
            for (index, value) in array.enumerated() { collect(value, at: pointer + "/\(index)", into: &references) }
        }
    }

    /// The node a local reference (`#/a/b~1c`) names.
    func resolve(_ reference: String) -> Any? {
        guard reference.hasPrefix("#") else { return nil }
        let pointer = reference.dropFirst()
        guard !pointer.isEmpty else { return root }
        guard pointer.hasPrefix("/") else { return nil }
        var node: Any = root
        for raw in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            let token = (String(raw).removingPercentEncoding ?? String(raw))
                .replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            if let object = node as? [String: Any], let next = object[token] {
                node = next
            } else if let array = node as? [Any], let index = Int(token), array.indices.contains(index) {
                node = array[index]
            } else {
                return nil
            }
        }
        return node
    }

    static func escape(_ key: String) -> String {
        key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}
