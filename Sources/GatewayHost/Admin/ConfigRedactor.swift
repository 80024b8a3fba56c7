import TOMLKit

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
        guard let root = try? TOMLTable(string: text) else { return "# (the running configuration could not be re-read)\n" }
        redact(root, everything: false)
        return root.convert(to: .toml)
    }

    /// Whether a key's value is a secret.
    static func isSecret(key: String) -> Bool {
        let words = key.lowercased().split(whereSeparator: { $0 == "_" || $0 == "-" || $0 == "." }).map(String.init)
        guard let last = words.last, !harmlessLast.contains(last) else { return false }
        return words.contains { secretWords.contains($0) }
    }

    private static func redact(_ table: TOMLTable, everything: Bool) {
        for key in table.keys {
            guard let value = table[key] else { continue }
            let secret = everything || isSecret(key: key)
            if let nested = value.table {
                redact(nested, everything: everything || secretTables.contains(key.lowercased()))
            } else if let array = value.array {
                redact(array, everything: secret)
            } else if secret, value.string != nil {
                table[key] = placeholder
            }
        }
    }

    private static func redact(_ array: TOMLArray, everything: Bool) {
        for index in array.indices {
            let value = array[index]
            if let nested = value.table {
                redact(nested, everything: everything)
            } else if let inner = value.array {
                redact(inner, everything: everything)
            } else if everything, value.string != nil {
                array[index] = placeholder
            }
        }
    }
}
