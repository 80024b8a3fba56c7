/// Why a configuration could not be used, with the place in the file.
struct ConfigError: Error, CustomStringConvertible, Equatable {
    /// The config file.
    var file: String
    /// 1-based line and column, for syntax errors.
    var line: Int?
    var column: Int?
    /// Where in the document, e.g. `routes[1].filters[0].plugin`, for semantic errors.
    var keyPath: String?
    /// What is wrong and what to do.
    var message: String

    var description: String {
        var location = file
        if let line { location += ":\(line)" + (column.map { ":\($0)" } ?? "") }
        if let keyPath { location += ": \(keyPath)" }
        return "\(location): \(message)"
    }
}
