/// One connection to a target: the shared one, or a client's own.
public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    public let value: Int
    public init(_ value: Int) { self.value = value }
    public var description: String { "c\(value)" }
}


/// One client HTTP exchange (a POST awaiting its answer, or a session's GET stream); the glue
/// numbers them and delivers to them.
public struct ExchangeID: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public var description: String { "x\(value)" }
}


/// One HTTP call the federation asked for (the glue maps it to the host's call).
public struct HTTPCallID: Hashable, Sendable {
    public let value: Int
    public init(_ value: Int) { self.value = value }
}


/// How a host names an HTTP call: its scope and its id there.
public struct HostCallKey: Hashable, Sendable {
    public let scope: UInt
    public let id: UInt64
    public init(scope: UInt, id: UInt64) {
        self.scope = scope
        self.id = id
    }
}
