import Foundation  // (the TOML sources use it; in the gateway another file imports it)

// libFuzzer target: the gateway's TOML reader (Sources/GatewayHost/Config/TOML) on arbitrary
// text — every config file, reload and admin PUT goes through it. Beyond not crashing: an error
// points at a line inside the text, and a document that parses, written back as TOML, reads as
// the same document. Built by scripts/fuzz.

/// Whether two JSON texts hold the same value, object members in any order.
private func sameJSON(_ a: String, _ b: String) -> Bool {
    guard let x = try? JSONSerialization.jsonObject(with: Data(a.utf8), options: [.fragmentsAllowed]),
          let y = try? JSONSerialization.jsonObject(with: Data(b.utf8), options: [.fragmentsAllowed]) else { return a == b }
    return NSDictionary(dictionary: ["v": x]).isEqual(to: ["v": y])
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTOML(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let table = try TOMLTable(parsing: text)
        let again = try TOMLTable(parsing: table.tomlText)
        // The same document: the same keys and values (key order within a table is not TOML's).
        precondition(sameJSON(again.jsonText, table.jsonText), "TOML written back does not read as the same document")
    } catch {
        // Lines by bytes (a Swift Character "\r\n" is one), CR and LF both counted: a bound.
        let breaks = text.utf8.filter { $0 == 0x0A || $0 == 0x0D }.count
        precondition(error.line >= 1 && error.line <= breaks + 1, "an error on line \(error.line) of at most \(breaks + 1)")
    }
    return 0
}
