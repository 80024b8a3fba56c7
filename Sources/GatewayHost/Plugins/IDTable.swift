/// A scope's HTTP calls, timers or processes by id. A stream's scope holds one or two at a time,
/// so entries live in a small array searched by id (no hashing, nothing allocated for a kind the
/// scope never uses); past ``arrayLimit`` entries (a config scope with many calls in flight) they
/// move to a dictionary.
struct IDTable<Value> {
    static var arrayLimit: Int { 16 }

    private var entries: [(id: UInt64, value: Value)] = []
    private var table: [UInt64: Value]?

    var isEmpty: Bool { table?.isEmpty ?? entries.isEmpty }

    var count: Int { table?.count ?? entries.count }

    /// Every value, in no set order.
    var values: [Value] {
        if let table { return Array(table.values) }
        return entries.map(\.value)
    }

    subscript(id: UInt64) -> Value? {
        get {
            if let table { return table[id] }
            for entry in entries where entry.id == id { return entry.value }
            return nil
        }
        set {
            guard let newValue else {
                removeValue(forKey: id)
                return
            }
            if table != nil {
                table![id] = newValue
                return
            }
            if let index = entries.firstIndex(where: { $0.id == id }) {
                entries[index].value = newValue
            } else if entries.count < Self.arrayLimit {
                entries.append((id, newValue))
            } else {
                var moved = Dictionary(uniqueKeysWithValues: entries.map { ($0.id, $0.value) })
                moved[id] = newValue
                table = moved
                entries = []
            }
        }
    }

    @discardableResult
    mutating func removeValue(forKey id: UInt64) -> Value? {
        if table != nil { return table!.removeValue(forKey: id) }
        guard let index = entries.firstIndex(where: { $0.id == id }) else { return nil }
        return entries.remove(at: index).value
    }

    mutating func removeAll() {
        entries = []
        table = nil
    }
}
