/// A bounded pool of libpq connections.
///
/// Invariants (checked by the tests, kept by this actor's state):
/// - `idle.count + inUse + connecting <= maxConnections` at all times;
/// - a waiter is resumed exactly once: with a connection, with a free slot (it then opens a
///   connection itself), with `poolTimeout` after `acquireTimeout`, or with `poolClosed`;
/// - a connection whose `generation` is older than the pool's (the DSN was replaced) is never
///   handed out again: idle ones are closed at once, in-use ones when they are released;
/// - an idle connection is checked on checkout: `isHealthy` always, and a `SELECT 1` round trip
///   when it has been idle longer than `idleCheckInterval`; a dead one is closed and the slot
///   reused. A connection that breaks in use is discarded by the caller (`release(discard:)`).
actor ConnectionPool {
    /// What a waiting `acquire` is resumed with.
    private enum Grant: Sendable {
        case connection(PostgresConnection)
        case slot
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Grant, any Error>
    }

    let maxConnections: Int
    let acquireTimeout: Duration
    let idleCheckInterval: Duration
    private let executor: BlockingExecutor
    private let metrics: StoreMetrics
    private var dsn: String
    private var generation = 0
    private var idle: [PostgresConnection] = []
    private var inUse = 0
    private var connecting = 0
    private var waiters: [Waiter] = []
    private var nextWaiterID: UInt64 = 0
    private var isClosed = false

    init(
        dsn: String, maxConnections: Int, acquireTimeout: Duration, idleCheckInterval: Duration,
        executor: BlockingExecutor, metrics: StoreMetrics
    ) {
        precondition(maxConnections > 0, "a connection pool needs at least one connection")
        self.dsn = dsn
        self.maxConnections = maxConnections
        self.acquireTimeout = acquireTimeout
        self.idleCheckInterval = idleCheckInterval
        self.executor = executor
        self.metrics = metrics
    }

    /// A snapshot of the pool's counters (for tests and `/readyz`).
    struct Stats: Sendable, Equatable {
        var idle: Int
        var inUse: Int
        var connecting: Int
        var waiting: Int
        var generation: Int
    }

    var stats: Stats {
        Stats(idle: idle.count, inUse: inUse, connecting: connecting, waiting: waiters.count, generation: generation)
    }

    /// Checks out a connection: a healthy idle one of the current generation, a new one if
    /// below `maxConnections`, or the next one released within `acquireTimeout`.
    /// - Throws: `poolTimeout`, `poolClosed`, `connectionFailed`.
    func acquire(operation: String) async throws(StoreError) -> PostgresConnection {
        guard !isClosed else { throw closedError(operation) }
        while let candidate = idle.popLast() {
            guard candidate.generation == generation && candidate.isHealthy else {
                retire(candidate)
                continue
            }
            inUse += 1
            publish()
            if try await isAlive(candidate, operation: operation) { return candidate }
        }
        if inUse + connecting < maxConnections {
            connecting += 1
            return try await openConnection(operation: operation)
        }
        let grant = try await waitForGrant(operation: operation)
        switch grant {
        case .connection(let connection):
            return connection
        case .slot:
            return try await openConnection(operation: operation)
        }
    }

    /// Pings `candidate` (already counted in `inUse`) if it sat idle too long. On failure
    /// the slot is freed again and `false` returned; if the pool closed meanwhile, throws.
    private func isAlive(_ candidate: PostgresConnection, operation: String) async throws(StoreError) -> Bool {
        guard candidate.idleSince.duration(to: .now) > idleCheckInterval else { return true }
        let alive = await executor.runCatching { () -> Result<Bool, StoreError> in .success(candidate.ping()) }
        if case .success(true) = alive, !isClosed { return true }
        release(candidate, discard: true)
        if isClosed { throw closedError(operation) }
        return false
    }

    /// Returns a connection. `discard` (or a broken or outdated connection) closes it and
    /// frees its slot for the next waiter.
    func release(_ connection: PostgresConnection, discard: Bool = false) {
        inUse -= 1
        let reusable = !discard && !isClosed && connection.generation == generation && connection.isHealthy
        if !reusable {
            retire(connection)
            grantSlotToWaiter()
        } else if !waiters.isEmpty {
            let waiter = waiters.removeFirst()
            inUse += 1
            waiter.continuation.resume(returning: .connection(connection))
        } else {
            connection.idleSince = .now
            idle.append(connection)
        }
        publish()
    }

    /// Switches to a new DSN: later checkouts connect with it, idle connections of the old
    /// DSN are closed now, in-use ones when released (their statements finish undisturbed).
    func replaceDSN(_ newDSN: String) {
        dsn = newDSN
        generation += 1
        let old = idle
        idle.removeAll()
        for connection in old { retire(connection) }
        for _ in old { grantSlotToWaiter() }
        publish()
    }

    /// Closes idle connections, fails waiters with `poolClosed`; in-use connections are
    /// closed when released. Idempotent.
    func close() {
        isClosed = true
        for connection in idle { retire(connection) }
        idle.removeAll()
        let pending = waiters
        waiters.removeAll()
        for waiter in pending { waiter.continuation.resume(throwing: closedError("close")) }
        publish()
    }

    // MARK: - Internals

    /// Opens a connection for a slot already counted in `connecting`.
    private func openConnection(operation: String) async throws(StoreError) -> PostgresConnection {
        publish()
        let currentDSN = dsn
        let currentGeneration = generation
        let result = await executor.runCatching { PostgresConnection.connect(dsn: currentDSN, generation: currentGeneration) }
        connecting -= 1
        switch result {
        case .success(let connection):
            inUse += 1
            publish()
            return connection
        case .failure(let error):
            grantSlotToWaiter()
            publish()
            throw StoreError(code: error.code, operation: operation, message: error.message)
        }
    }

    private func waitForGrant(operation: String) async throws(StoreError) -> Grant {
        nextWaiterID += 1
        let id = nextWaiterID
        let timeout = acquireTimeout
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Grant, any Error>) in
                    waiters.append(Waiter(id: id, continuation: continuation))
                    publish()
                    Task { [weak self] in
                        try? await Task.sleep(for: timeout)
                        await self?.expireWaiter(id: id, operation: operation)
                    }
                }
            } onCancel: {
                Task { await self.expireWaiter(id: id, operation: operation, cancelled: true) }
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(code: .poolTimeout, operation: operation, message: "acquire was cancelled")
        }
    }

    private func expireWaiter(id: UInt64, operation: String, cancelled: Bool = false) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        let waiter = waiters.remove(at: index)
        publish()
        let seconds = Double(acquireTimeout.components.seconds) + Double(acquireTimeout.components.attoseconds) / 1e18
        let message = cancelled
            ? "the task was cancelled while waiting for a connection"
            : "no database connection became free within \(seconds) s (all \(maxConnections) in use); "
                + "raise the pool size or the acquire timeout, or find what holds connections for so long"
        waiter.continuation.resume(throwing: StoreError(code: .poolTimeout, operation: operation, message: message))
    }

    /// Lets the first waiter open its own connection in a slot that just became free.
    private func grantSlotToWaiter() {
        guard !waiters.isEmpty, inUse + connecting < maxConnections else { return }
        let waiter = waiters.removeFirst()
        connecting += 1
        waiter.continuation.resume(returning: .slot)
    }

    private func retire(_ connection: PostgresConnection) {
        let executor = self.executor
        Task { await executor.run { connection.close() } }
    }

    private func publish() {
        metrics.recordPool(idle: idle.count, inUse: inUse, connecting: connecting, waiting: waiters.count)
    }

    private func closedError(_ operation: String) -> StoreError {
        StoreError(
            code: .poolClosed, operation: operation,
            message: "the store was shut down; create a new PostgresColdStore")
    }
}
