/// One server-sent event.
public struct SSEEvent: Sendable, Equatable {
    public var event: String
    public var data: [UInt8]
    public var id: String?
}
