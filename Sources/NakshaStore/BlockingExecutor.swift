import Dispatch

/// Runs blocking libpq calls off Swift concurrency's cooperative thread pool.
///
/// Every libpq call that can wait on the network (connect, exec, COPY) goes through
/// `run(_:)`, which hands the closure to a dedicated concurrent dispatch queue and suspends
/// the calling task until it finishes. The number of closures in flight is bounded by the
/// connection pool (one per checked-out or connecting connection), so the queue never
/// needs more threads than `maxConnections`.
///
/// Invariant: a closure runs exactly once, on a thread that is not a cooperative-pool thread.
struct BlockingExecutor: Sendable {
    private let queue: DispatchQueue

    init(label: String = "naksha.store.libpq") {
        self.queue = DispatchQueue(label: label, qos: .userInitiated, attributes: .concurrent)
    }

    /// Runs `body` on the executor's threads and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () -> Result<T, StoreError>) async throws(StoreError) -> T {
        let result: Result<T, StoreError> = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: body())
            }
        }
        return try result.get()
    }

    /// Like `run(_:)` but hands back the `Result` instead of throwing.
    func runCatching<T: Sendable>(_ body: @escaping @Sendable () -> Result<T, StoreError>) async -> Result<T, StoreError> {
        await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: body())
            }
        }
    }

    /// Runs a non-failing blocking `body` (for example closing a connection).
    func run(_ body: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                body()
                continuation.resume()
            }
        }
    }
}
