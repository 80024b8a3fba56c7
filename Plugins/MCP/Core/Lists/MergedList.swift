/// Items of a merged list, in target order, names already mapped to what clients see.
public struct MergedList: Sendable {
    public struct Item: Sendable {
        public var target: String
        /// The target's own name or URI.
        public var name: String
        public var json: [UInt8]
        public init(target: String, name: String, json: [UInt8]) {
            self.target = target
            self.name = name
            self.json = json
        }
    }
    public var items: [Item]
    public init(items: [Item]) { self.items = items }
}
