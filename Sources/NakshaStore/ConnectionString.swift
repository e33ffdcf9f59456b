import CLibPQ

/// Helpers over libpq connection strings (URL or key=value form), parsed by libpq itself.
enum ConnectionString {
    /// `dsn` with its database name replaced (used by `naksha migrate --database` and tests).
    /// - Throws: `invalidInput` if libpq cannot parse `dsn` (the message never echoes it).
    static func replacingDatabase(in dsn: String, with database: String) throws(StoreError) -> String {
        try replacing("dbname", with: database, in: dsn)
    }

    /// `dsn` in key=value form with option `key` set to `value` (e.g. a rotated `user`/`password`).
    static func replacing(_ key: String, with value: String, in dsn: String) throws(StoreError) -> String {
        var pairs = try parse(dsn)
        pairs.removeAll { $0.key == key }
        pairs.append((key: key, value: value))
        return pairs.map { "\($0.key)=\(quote($0.value))" }.joined(separator: " ")
    }

    /// The explicitly set options of `dsn`, in libpq's order.
    static func parse(_ dsn: String) throws(StoreError) -> [(key: String, value: String)] {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(dsn, &errorMessage) else {
            let reason = errorMessage.map { String(cString: $0) } ?? "out of memory"
            if let errorMessage { PQfreemem(errorMessage) }
            throw StoreError(
                code: .invalidInput, operation: "configure",
                message: "the connection string is not valid for libpq: \(redactingSecrets(reason).trimmed)")
        }
        defer { PQconninfoFree(options) }
        var pairs: [(key: String, value: String)] = []
        var cursor = options
        while let keyword = cursor.pointee.keyword {
            if let value = cursor.pointee.val {
                pairs.append((key: String(cString: keyword), value: String(cString: value)))
            }
            cursor += 1
        }
        return pairs
    }

    /// Quotes a key=value value: single quotes, backslash-escaping `\` and `'`.
    static func quote(_ value: String) -> String {
        var quoted = "'"
        for character in value {
            if character == "\\" || character == "'" { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "'"
    }
}
