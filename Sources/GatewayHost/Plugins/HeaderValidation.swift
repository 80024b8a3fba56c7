import ABIInterop
import HTTP1
import PluginABI

/// Checks the header names and values plugins hand to the host (RFC 9110 §5.1, §5.5), so that a
/// plugin can never split a message with CR/LF. Headers the host parsed itself are valid
/// already; this replaces NIO's per-write validators, which cost ~30k instructions per
/// request walking `String`s.
enum HeaderValidation {
    static func isValidName(_ bytes: UnsafeRawBufferPointer) -> Bool {
        !bytes.isEmpty && HTTP1Characters.areToken(bytes)
    }

    static func isValidValue(_ bytes: UnsafeRawBufferPointer) -> Bool {
        HTTP1Characters.areFieldValue(bytes)
    }

    static func isValid(name: agw_str, value: agw_str) -> Bool {
        isValidName(name.rawBuffer) && isValidValue(value.rawBuffer)
    }

    /// Whether every header of a plugin's array is valid.
    static func areValid(_ headers: UnsafePointer<agw_header>?, _ count: Int) -> Bool {
        guard count > 0 else { return true }
        guard let headers else { return false }
        return (0..<count).allSatisfy { isValid(name: headers[$0].name, value: headers[$0].value) }
    }
}
