/// A statement parameter. Values are always sent out of band (`PQexecParams` /
/// `PQexecPrepared`); nothing a caller passes is ever spliced into SQL text.
///
/// Text-like values go in text format with server-inferred types; `.bytes` goes in binary
/// format as `bytea`, so it may hold any byte including NUL. Text values may not contain
/// NUL (libpq text parameters are C strings): such a value is rejected with
/// `StoreError.Code.invalidParameter` before anything is sent.
enum PostgresValue: Sendable, Equatable {
    case text(String)
    case int64(Int64)
    case double(Double)
    case bool(Bool)
    case bytes([UInt8])
    case null

    /// `nil` becomes SQL NULL.
    static func text(_ value: String?) -> PostgresValue {
        value.map { .text($0) } ?? .null
    }

    static func int(_ value: Int) -> PostgresValue { .int64(Int64(value)) }

    /// The OID sent as the parameter type (0 lets the server infer it from context).
    var typeOID: UInt32 {
        switch self {
        case .bytes: return 17  // bytea
        case .text, .int64, .double, .bool, .null: return 0
        }
    }

    /// 1 for binary format, 0 for text.
    var formatCode: Int32 {
        switch self {
        case .bytes: return 1
        case .text, .int64, .double, .bool, .null: return 0
        }
    }

    /// The bytes to send (without a C terminator), or `nil` for NULL.
    /// - Throws: `invalidParameter` if a text value contains a NUL byte.
    func encoded(index: Int, operation: String) throws(StoreError) -> [UInt8]? {
        switch self {
        case .text(let string):
            let utf8 = Array(string.utf8)
            if utf8.contains(0) {
                throw StoreError(
                    code: .invalidParameter, operation: operation,
                    message: "parameter \(index + 1) is text containing a NUL byte, which Postgres text "
                        + "cannot store; remove the NUL characters or store the value as bytes")
            }
            return utf8
        case .int64(let value): return Array(String(value).utf8)
        case .double(let value): return Array(Self.postgresText(value).utf8)
        case .bool(let value): return Array((value ? "t" : "f").utf8)
        case .bytes(let bytes): return bytes
        case .null: return nil
        }
    }

    private static func postgresText(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "Infinity" : "-Infinity" }
        return "\(value)"
    }
}
