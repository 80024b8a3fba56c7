/// Gateway-owned pagination of a merged list: the cursor is an offset into the merged, filtered
/// list, opaque to clients.
public enum ListCursor {
    public static func encode(offset: Int) -> String { "agw1.\(offset)" }

    /// Nil for a cursor the gateway did not issue (answer -32602).
    public static func decode(_ cursor: String) -> Int? {
        guard cursor.hasPrefix("agw1."), let offset = Int(cursor.dropFirst(5)), offset >= 0 else { return nil }
        return offset
    }
}
