import Foundation

/// A compiled regular expression for `matches` (ICU syntax, which agrees with RE2 on the common
/// subset: classes, anchors, groups, alternation, repetition). Like CEL, it matches anywhere in
/// the string unless anchored.
final class Pattern: @unchecked Sendable {
    // NSRegularExpression is immutable and safe to use from several threads.
    private let regex: NSRegularExpression

    init(_ pattern: String) throws {
        regex = try NSRegularExpression(pattern: pattern)
    }

    func matches(_ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}
