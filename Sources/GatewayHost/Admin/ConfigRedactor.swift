/// The running configuration as TOML with its secrets replaced, for `GET /config`.
///
/// A string is replaced when its key names a secret (`secret`, `token`, `password`, `key`,
/// `authorization`, `cookie`, `credential`, `sha256`, ... as a word of the key, so `hmac_secret`,
/// `api_key` and `key` are, and `api_key_header` and `keys_url` are not), and every string in a
/// `headers` or `env` table (static upstream credentials, child process environments). What names
/// a secret is a guess: plugin tables are the plugins' own; a `*_env` or `*_file` key that names
/// where a secret lives is shown.
enum ConfigRedactor {
    static let placeholder = "<redacted>"
    private static let secretWords: Set<String> = [
        "secret", "token", "password", "passwd", "key", "authorization", "cookie", "credential", "credentials",
        "sha256", "digest", "private", "apikey", "bearer", "pat",
    ]
    private static let harmlessLast: Set<String> = ["env", "file", "path", "header", "url", "name", "id", "size", "ttl", "cache"]
    private static let secretTables: Set<String> = ["headers", "env"]

    /// `text` with secrets replaced; `text` must be valid TOML (it is the running config).
    static func redact(_ text: String) -> String {
        guard let root = try? TOMLTable(parsing: text) else { return "# (the running configuration could not be re-read)\n" }
        return redact(root, everything: false).tomlText
    }

    /// Whether a key's value is a secret.
    static func isSecret(key: String) -> Bool {
        let words = key.lowercased().split(whereSeparator: { $0 == "_" || $0 == "-" || $0 == "." }).map(String.init)
        guard let last = words.last, !harmlessLast.contains(last) else { return false }
        return words.contains { secretWords.contains($0) }
    }

    private static func redact(_ table: TOMLTable, everything: Bool) -> TOMLTable {
        var table = table
        for key in table.keys {
            table[key] = redact(table[key]!, everything: everything || isSecret(key: key),
                                tableEverything: everything || secretTables.contains(key.lowercased()))
        }
        return table
    }

    /// `everything`: the value's key names a secret; `tableEverything`: a table's strings all are.
    private static func redact(_ value: TOMLValue, everything: Bool, tableEverything: Bool) -> TOMLValue {
        switch value {
        case .table(let nested): return .table(redact(nested, everything: tableEverything))
        case .array(let items): return .array(items.map { redact($0, everything: everything, tableEverything: everything) })
        case .string where everything: return .string(placeholder)
        default: return value
        }
    }
}
