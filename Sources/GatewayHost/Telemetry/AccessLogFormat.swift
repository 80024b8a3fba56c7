import JSON

/// Formats records as JSON lines (I/O-free; `AccessLogWriter` writes them).
///
/// A line is written into memory reserved for it once (`withLine`),
/// through a `LineCursor` that stores bytes without a capacity check each: the reservation
/// bounds everything a line can hold (every string byte escaped as `\u00XX`). Appending to an
/// `Array` costs ~140 instructions of bookkeeping per call, and a line is ~60 pieces.
enum AccessLogFormat {
    /// Calls `body` with the line for `record` (valid during the call). The memory is allocated
    /// rather than a closure's temporary: a closure would copy the record (~700 instructions).
    static func withLine<Result>(_ record: borrowing AccessLogRecord, policy: AccessLogPolicy,
                                 _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        let room = UnsafeMutableRawPointer.allocate(byteCount: capacity(record), alignment: 1)
        defer { room.deallocate() }
        var line = LineCursor(room)
        write(record, policy: policy, into: &line)
        return body(UnsafeRawBufferPointer(start: room, count: line.count))
    }

    /// The line for `record`, as an array (tests, and whoever keeps it).
    static func line(_ record: borrowing AccessLogRecord, policy: AccessLogPolicy) -> [UInt8] {
        withLine(record, policy: policy) { Array($0) }
    }

    /// The most bytes the line for `record` can take.
    private static func capacity(_ record: borrowing AccessLogRecord) -> Int {
        var text = record.listener.utf8.count + record.route.utf8.count + record.httpVersion.utf8.count
        text += record.method.utf8.count + record.uri.utf8.count + record.peer.utf8.count
        text += (record.traceID?.utf8.count ?? 0) + (record.spanID?.utf8.count ?? 0) + (record.userAgent?.utf8.count ?? 0)
        text += (record.subject?.count ?? 0) + (record.authMethod?.count ?? 0) + (record.upstream?.utf8.count ?? 0)
        text += (record.decidedBy?.utf8.count ?? 0)
        let fields = AccessLogPolicy.hostFields.count * (AccessLogPolicy.longestHostFieldKey + 1 + 2 + 26) // key, comma, quotes, a number
        return 4 + fields + JSONText.quotedCapacity(text) + record.annotations.logLineCapacity
    }

    /// The host's fields in `hostFields` order, then the annotations the route's log takes.
    private static func write(_ record: borrowing AccessLogRecord, policy: AccessLogPolicy, into line: inout LineCursor) {
        line.byte(UInt8(ascii: "{"))
        var field = FieldCursor(policy: policy)
        if field.next(&line) { line.byte(UInt8(ascii: "\"")); line.timestamp(record.unixNanoseconds); line.byte(UInt8(ascii: "\"")) }
        if field.next(&line) { line.byte(UInt8(ascii: "\"")); line.hex(record.requestID); line.byte(UInt8(ascii: "\"")) }
        if field.next(&line, present: record.traceID != nil) { line.quoted(record.traceID!) }
        if field.next(&line, present: record.spanID != nil) { line.quoted(record.spanID!) }
        if field.next(&line) { line.quoted(record.listener) }
        if field.next(&line) { line.quoted(record.route) }
        if field.next(&line) { line.quoted(record.httpVersion) }
        if field.next(&line) { line.quoted(record.method) }
        record.uri.withUTF8Bytes { uri in
            let query = uri.firstIndex(of: UInt8(ascii: "?"))
            if field.next(&line) { line.quoted(UnsafeRawBufferPointer(rebasing: uri[..<(query ?? uri.count)])) }
            if field.next(&line, present: query != nil) { line.quoted(UnsafeRawBufferPointer(rebasing: uri[(query! + 1)...])) }
        }
        if field.next(&line) { line.decimal(UInt64(max(0, record.status))) }
        if field.next(&line) { line.milliseconds(record.durationNanoseconds) }
        if field.next(&line) { line.decimal(UInt64(max(0, record.requestBytes))) }
        if field.next(&line) { line.decimal(UInt64(max(0, record.responseBytes))) }
        if field.next(&line) { line.quoted(record.peer) }
        if field.next(&line, present: record.userAgent != nil) { line.quoted(record.userAgent!) }
        if field.next(&line, present: record.subject != nil) { record.subject!.withUnsafeBytes { line.quoted($0) } }
        if field.next(&line, present: record.authMethod != nil) { record.authMethod!.withUnsafeBytes { line.quoted($0) } }
        if field.next(&line, present: record.upstream != nil) { line.quoted(record.upstream!) }
        if field.next(&line, present: record.decidedBy != nil) { line.quoted(record.decidedBy!) }
        assert(field.index == AccessLogPolicy.hostFields.count)
        record.annotations.writeLogged(into: &line)
        line.byte(UInt8(ascii: "}"))
        line.byte(UInt8(ascii: "\n"))
    }

    /// RFC 3339 in UTC with milliseconds: `2026-12-02T02:40:01.123Z`.
    static func timestamp(_ unixNanoseconds: UInt64) -> String { text { $0.timestamp(unixNanoseconds) } }

    /// Nanoseconds as milliseconds with three decimals (`1.500`).
    static func milliseconds(_ nanoseconds: UInt64) -> String { text { $0.milliseconds(nanoseconds) } }

    /// What `write` puts through a cursor (at most 32 bytes), as a string.
    private static func text(_ write: (inout LineCursor) -> Void) -> String {
        withUnsafeTemporaryAllocation(byteCount: 32, alignment: 1) { room in
            var line = LineCursor(room.baseAddress!)
            write(&line)
            return String(decoding: UnsafeRawBufferPointer(rebasing: room[..<line.count]), as: UTF8.self)
        }
    }
}

/// Walks the host's fields in order: `next` says whether the route logs the field (and the
/// record has it) and, if so, writes its `"name":` (after a comma when a member came before).
private struct FieldCursor {
    let policy: AccessLogPolicy
    private(set) var index = 0

    init(policy: AccessLogPolicy) { self.policy = policy }

    mutating func next(_ line: inout LineCursor, present: Bool = true) -> Bool {
        defer { index += 1 }
        guard present, policy.wants(hostField: index) else { return false }
        line.member(AccessLogPolicy.hostFieldKeys[index])
        return true
    }
}

/// Stores bytes at a pointer into memory its owner reserved, counting them. No bounds checks:
/// the owner reserves what its writes can take.
struct LineCursor {
    private let base: UnsafeMutableRawPointer
    private(set) var count = 0

    init(_ base: UnsafeMutableRawPointer) { self.base = base }

    mutating func byte(_ value: UInt8) {
        base.storeBytes(of: value, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    mutating func bytes(_ value: UnsafeRawBufferPointer) {
        guard let source = value.baseAddress, value.count > 0 else { return }
        (base + count).copyMemory(from: source, byteCount: value.count)
        count += value.count
    }

    /// `,"name":` (no comma right after the opening brace), from the key's bytes made once.
    mutating func member(_ key: [UInt8]) {
        if count > 1 { byte(UInt8(ascii: ",")) }
        key.withUnsafeBytes { bytes($0) }
    }

    mutating func quoted(_ value: UnsafeRawBufferPointer) {
        count += JSONText.writeQuoted(bytes: value, to: base + count)
    }

    mutating func quoted(_ value: String) {
        value.withUTF8Bytes { quoted($0) }
    }

    mutating func decimal(_ value: UInt64) {
        var digits = 1
        var rest = value
        while rest >= 10 { rest /= 10; digits += 1 }
        padded(value, width: digits)
    }

    /// `value` in `width` digits, zero-padded (written from the last digit back).
    mutating func padded(_ value: UInt64, width: Int) {
        var rest = value
        var position = count + width
        while position > count {
            position -= 1
            base.storeBytes(of: UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10), toByteOffset: position, as: UInt8.self)
            rest /= 10
        }
        count += width
    }

    mutating func padded(_ value: Int, width: Int) { padded(UInt64(max(0, value)), width: width) }

    mutating func hex(_ value: UInt64) {
        let digits = max(1, (64 - value.leadingZeroBitCount + 3) / 4)
        for position in 0..<digits {
            let digit = UInt8((value >> UInt64(4 * (digits - 1 - position))) & 0xF)
            byte(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10)
        }
    }

    /// Nanoseconds as milliseconds with three decimals (`1.500`).
    mutating func milliseconds(_ nanoseconds: UInt64) {
        let micros = (nanoseconds + 500) / 1000
        decimal(micros / 1000)
        byte(UInt8(ascii: "."))
        padded(micros % 1000, width: 3)
    }

    /// RFC 3339 in UTC with milliseconds. The civil date comes from the day number by Howard
    /// Hinnant's `civil_from_days` (no `gmtime_r`, no time-zone lookup).
    mutating func timestamp(_ unixNanoseconds: UInt64) {
        let seconds = Int(unixNanoseconds / 1_000_000_000)
        let days = seconds / 86_400
        let secondOfDay = seconds % 86_400
        let shifted = days + 719_468
        let era = shifted / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        padded(year, width: 4); byte(UInt8(ascii: "-"))
        padded(month, width: 2); byte(UInt8(ascii: "-"))
        padded(day, width: 2); byte(UInt8(ascii: "T"))
        padded(secondOfDay / 3600, width: 2); byte(UInt8(ascii: ":"))
        padded(secondOfDay / 60 % 60, width: 2); byte(UInt8(ascii: ":"))
        padded(secondOfDay % 60, width: 2); byte(UInt8(ascii: "."))
        padded(unixNanoseconds / 1_000_000 % 1000, width: 3); byte(UInt8(ascii: "Z"))
    }
}

extension String {
    /// Calls `body` with the string's UTF-8 bytes (in place for a native string).
    func withUTF8Bytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        var copy = self // a native string is not copied; a small one is spilled to the stack
        return copy.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }
}
