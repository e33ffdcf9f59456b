/// How `PostgresColdStore` connects and how patient it is.
///
/// `connectionString` is handed to libpq unchanged (`postgresql://user:pass@host:5432/db?sslmode=verify-full`
/// or `host=… user=…`), so TLS follows its `sslmode`, `sslrootcert`, `sslcert`, `sslkey`.
/// It is a secret: never log it.
public struct PostgresConfiguration: Sendable {
    public var connectionString: String
    /// Upper bound on open connections (idle + in use + being opened).
    public var maxConnections: Int
    /// How long a checkout waits for a free connection before `poolTimeout`.
    public var acquireTimeout: Duration
    /// How long an idempotent operation keeps retrying after connection failures
    /// (server restart, failover) before giving up with the last error.
    public var retryDeadline: Duration
    /// A connection idle for longer than this is checked with a round trip (`SELECT 1`) on
    /// checkout, so one that died while idle (server restart, idle timeout in a proxy) is
    /// replaced before any statement fails on it.
    public var idleCheckInterval: Duration

    public init(
        connectionString: String, maxConnections: Int = 8,
        acquireTimeout: Duration = .seconds(5), retryDeadline: Duration = .seconds(20),
        idleCheckInterval: Duration = .seconds(30)
    ) {
        self.connectionString = connectionString
        self.maxConnections = maxConnections
        self.acquireTimeout = acquireTimeout
        self.retryDeadline = retryDeadline
        self.idleCheckInterval = idleCheckInterval
    }

    /// Reads `DATABASE_URL` from `environment` (pass `ProcessInfo.processInfo.environment`).
    public static func fromEnvironment(_ environment: [String: String]) throws(StoreError) -> PostgresConfiguration {
        guard let url = environment["DATABASE_URL"], !url.isEmpty else {
            throw StoreError(
                code: .invalidInput, operation: "configure",
                message: "DATABASE_URL is not set; set it to postgresql://USER:PASSWORD@HOST:PORT/DB?sslmode=…")
        }
        return PostgresConfiguration(connectionString: url)
    }
}
