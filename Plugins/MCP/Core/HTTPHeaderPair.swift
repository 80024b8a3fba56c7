/// A header (name, value): of an answer to a client, or of a request to a target.
public struct HTTPHeaderPair: Sendable, Equatable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}
