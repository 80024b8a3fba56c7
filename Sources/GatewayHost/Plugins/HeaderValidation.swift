import ABIInterop
import PluginABI

/// Checks the header names and values plugins hand to the host (RFC 9110 §5.1, §5.5), so that a
/// plugin can never split a message with CR/LF. Headers the host parsed itself (llhttp) are
/// valid already; this replaces NIO's per-write validators, which cost ~30k instructions per
/// request walking `String`s.
enum HeaderValidation {
    /// `tchar`: the bytes a field name may contain.
    private static let tokenBytes: [Bool] = (0..<256).map { byte in
        switch UInt8(byte) {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
        default: return "!#$%&'*+-.^_`|~".utf8.contains(UInt8(byte))
        }
    }

    static func isValidName(_ bytes: UnsafeRawBufferPointer) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy { tokenBytes[Int($0)] }
    }

    /// Visible characters, spaces, tabs and obs-text; no CR, LF, NUL or other controls.
    static func isValidValue(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.allSatisfy { $0 >= 0x20 ? $0 != 0x7F : $0 == 0x09 }
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
