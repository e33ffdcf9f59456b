import Logging
import Metrics
import NakshaCore

/// `ColdStore` on Postgres through libpq.
///
/// Shape: a `ConnectionPool` (bounded, health-checked, DSN generations for credential
/// rotation) and a `BlockingExecutor` on which every libpq call runs, so no cooperative
/// thread ever blocks. Each operation checks out one connection, runs a synchronous body
/// against it on the executor (a whole transaction or COPY at once), and returns it.
///
/// Lifecycle: call `shutdown()` when done; it closes idle connections and lets the
/// executor's threads exit.
///
/// Invariants: SQL text is constant; values travel only as parameters, COPY data, or
/// transaction-local settings set through parameters. A connection that failed with a
/// connection-class error is discarded, never reused. Idempotent operations are retried
/// on connection failures until `retryDeadline`, with capped exponential backoff.
public final class PostgresColdStore: ColdStore {
    let pool: ConnectionPool
    let executor: BlockingExecutor
    let metrics: StoreMetrics
    let logger: Logger
    let retryDeadline: Duration

    public init(
        configuration: PostgresConfiguration,
        logger: Logger = Logger(label: "naksha.store"),
        metricsFactory: (any MetricsFactory)? = nil
    ) {
        self.executor = BlockingExecutor(threadCount: configuration.maxConnections + 1)
        self.metrics = StoreMetrics(factory: metricsFactory)
        self.logger = logger
        self.retryDeadline = configuration.retryDeadline
        self.pool = ConnectionPool(
            dsn: configuration.connectionString, maxConnections: configuration.maxConnections,
            acquireTimeout: configuration.acquireTimeout, idleCheckInterval: configuration.idleCheckInterval,
            executor: executor, metrics: metrics)
    }

    /// Rotates credentials: connections opened from now on use `connectionString`; idle old
    /// connections are closed now; in-use ones finish their work and are closed on return.
    /// The new DSN is not probed here: a wrong one shows up as `connectionFailed` on use.
    public func replaceConnectionString(_ connectionString: String) async {
        await pool.replaceDSN(connectionString)
        let generation = await pool.stats.generation
        logger.info("database connection string replaced", metadata: ["db.pool.generation": "\(generation)"])
    }

    /// Closes idle connections and refuses new work (`poolClosed`). In-flight operations
    /// finish; their connections are closed when returned.
    public func shutdown() async {
        await pool.close()
        executor.shutdown()
    }

    /// Pool counters, for readiness checks and tests.
    public var poolStatistics: (idle: Int, inUse: Int, connecting: Int, waiting: Int) {
        get async {
            let stats = await pool.stats
            return (stats.idle, stats.inUse, stats.connecting, stats.waiting)
        }
    }

    public func migrate() async throws(StoreError) -> MigrationReport {
        let report = try await withConnection(Migrator.operation, idempotent: true) { connection throws(StoreError) in
            try Migrator.run(on: connection)
        }
        if !report.applied.isEmpty {
            logger.info("database migrated", metadata: [
                "db.migrations.applied": "\(report.applied)", "db.schema.version": "\(report.currentVersion)",
            ])
        }
        return report
    }

    /// Checks out a connection, runs `body` on the executor, returns the connection, records
    /// metrics, and retries connection failures of idempotent operations until the deadline.
    func withConnection<T: Sendable>(
        _ operation: String, idempotent: Bool,
        _ body: @escaping @Sendable (PostgresConnection) throws(StoreError) -> T
    ) async throws(StoreError) -> T {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start.advanced(by: retryDeadline)
        var backoff = Duration.milliseconds(20)
        defer {
            metrics.recordDuration(operation: operation, nanoseconds: start.duration(to: clock.now).inNanoseconds)
        }
        while true {
            do {
                return try await attempt(operation, body)
            } catch {
                metrics.recordError(operation: operation)
                let retryable = idempotent && error.isConnectionFailure && clock.now.advanced(by: backoff) < deadline
                guard retryable else { throw error }
                logger.warning("database connection failed; retrying", metadata: [
                    "db.op": "\(operation)", "db.error.code": "\(error.code)", "db.retry.backoff": "\(backoff)",
                ])
                guard !Task.isCancelled else { throw error }
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .milliseconds(500))
            }
        }
    }

    private func attempt<T: Sendable>(
        _ operation: String, _ body: @escaping @Sendable (PostgresConnection) throws(StoreError) -> T
    ) async throws(StoreError) -> T {
        let connection = try await pool.acquire(operation: operation)
        let result = await executor.runCatching { () -> Result<T, StoreError> in
            do throws(StoreError) {
                return .success(try body(connection))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let value):
            await pool.release(connection)
            return value
        case .failure(let error):
            await pool.release(connection, discard: connection.isBroken || error.isConnectionFailure)
            throw error
        }
    }
}

extension PostgresConnection {
    /// Runs `body` inside BEGIN … COMMIT; rolls back on any error (best effort: a broken
    /// session rolls back on the server by itself).
    func transaction<T>(operation: String, _ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try execute("BEGIN", operation: operation)
        do {
            let value = try body()
            try execute("COMMIT", operation: operation)
            return value
        } catch {
            if !isBroken { _ = try? execute("ROLLBACK", operation: operation) }
            throw error
        }
    }
}
