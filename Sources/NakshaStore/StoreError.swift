/// The one error type `NakshaStore` throws.
///
/// Pattern (CONVENTIONS §4, postgres-nio's `PSQLError`): a `Code` that wraps a private enum
/// exposed as static lets, so codes can be added without breaking exhaustive matches in
/// callers, plus context: the operation, the SQLSTATE when the server sent one, and a message
/// that says what was wrong and what to do.
///
/// Invariant: `message` never contains SQL parameters or credentials. Server messages are
/// kept in `serverMessage` (they can quote row data, so callers must not log them at a level
/// that is shipped off the machine).
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable, machine-readable error code (`code.rawValue` never changes once shipped).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Base: String, Sendable, Hashable {
            case poolTimeout = "pool_timeout"
            case poolClosed = "pool_closed"
            case connectionFailed = "connection_failed"
            case connectionLost = "connection_lost"
            case invalidParameter = "invalid_parameter"
            case invalidInput = "invalid_input"
            case serverError = "server_error"
            case uniqueViolation = "unique_violation"
            case protocolViolation = "protocol_violation"
            case migrationFailed = "migration_failed"
            case notFound = "not_found"
        }

        let base: Base

        /// No connection became free within the pool's acquire timeout.
        public static let poolTimeout = Code(base: .poolTimeout)
        /// The store was shut down; no more work is accepted.
        public static let poolClosed = Code(base: .poolClosed)
        /// A new connection could not be opened (server down, wrong DSN, bad credentials, TLS).
        public static let connectionFailed = Code(base: .connectionFailed)
        /// An open connection broke while in use (server restart, network failure).
        public static let connectionLost = Code(base: .connectionLost)
        /// A parameter cannot be sent to Postgres (for example a NUL byte in a text value).
        public static let invalidParameter = Code(base: .invalidParameter)
        /// The caller's data violates a rule of the store (wrong dimension, duplicate id …).
        public static let invalidInput = Code(base: .invalidInput)
        /// Postgres rejected the statement; see `sqlState`.
        public static let serverError = Code(base: .serverError)
        /// A row with the same key exists with different content.
        public static let uniqueViolation = Code(base: .uniqueViolation)
        /// Bytes from the server did not match the expected format (COPY binary, results).
        public static let protocolViolation = Code(base: .protocolViolation)
        /// A schema migration failed; the database is left at the last applied version.
        public static let migrationFailed = Code(base: .migrationFailed)
        /// A referenced object (collection, document) does not exist.
        public static let notFound = Code(base: .notFound)

        /// The stable string form, e.g. `"pool_timeout"`.
        public var rawValue: String { base.rawValue }
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// The store operation that failed (the `op` label of the metrics), e.g. `"archive_jobs"`.
    public var operation: String
    /// What was wrong and what to do about it.
    public var message: String
    /// The five-character SQLSTATE sent by the server, when there was one.
    public var sqlState: String?
    /// The server's primary message, when there was one (may quote data; do not log it).
    public var serverMessage: String?

    public init(
        code: Code, operation: String, message: String,
        sqlState: String? = nil, serverMessage: String? = nil
    ) {
        self.code = code
        self.operation = operation
        self.message = message
        self.sqlState = sqlState
        self.serverMessage = serverMessage
    }

    public var description: String {
        var text = "naksha store \(operation): \(code.rawValue): \(message)"
        if let sqlState { text += " [SQLSTATE \(sqlState)]" }
        return text
    }

    /// Whether the failure means the connection can no longer be used, so the operation may
    /// be retried on a fresh connection if it is idempotent.
    public var isConnectionFailure: Bool {
        code == .connectionLost || code == .connectionFailed
    }
}
