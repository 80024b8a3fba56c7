/// One merged list being collected from every target.
struct ListJob: Sendable {
    let kind: ListKind
    /// Who gets it; nil: the gateway's own refresh of the name index.
    let exchange: ExchangeID?
    let owner: Owner
    var items: [[MergedList.Item]?]
    var partial: [Int: [MergedList.Item]] = [:]
    var failures: [(target: String, reason: String)] = []
    var pages = 0
    var isComplete: Bool { items.allSatisfy { $0 != nil } }
}
