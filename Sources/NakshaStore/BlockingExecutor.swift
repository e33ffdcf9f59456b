import Foundation

/// Runs blocking libpq calls off Swift concurrency's cooperative thread pool.
///
/// A fixed set of dedicated threads takes closures from a FIFO queue (guarded by an
/// `NSCondition`). The store sizes it to `maxConnections + 1`: every checked-out or
/// connecting connection has at most one closure in flight, so a closure never waits for a
/// thread while another connection's statement is blocked in the server (a dispatch queue
/// would give no such guarantee: its width follows the CPU count).
///
/// Invariants: each submitted closure runs exactly once, on one of these threads (or, after
/// `shutdown()`, on a fresh thread of its own so late work still completes); callers are
/// resumed from that thread, never from a cooperative one.
final class BlockingExecutor: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var head = 0
    private var isShutdown = false

    init(threadCount: Int, name: String = "naksha.store.libpq") {
        precondition(threadCount > 0, "a blocking executor needs at least one thread")
        for index in 0..<threadCount {
            let thread = Thread { [self] in workerLoop() }
            thread.name = "\(name).\(index)"
            thread.start()
        }
    }

    /// Runs `body` on the executor's threads and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () -> Result<T, StoreError>) async throws(StoreError) -> T {
        try await runCatching(body).get()
    }

    /// Like `run(_:)` but hands back the `Result` instead of throwing.
    func runCatching<T: Sendable>(_ body: @escaping @Sendable () -> Result<T, StoreError>) async -> Result<T, StoreError> {
        await withCheckedContinuation { continuation in
            submit { continuation.resume(returning: body()) }
        }
    }

    /// Runs a non-failing blocking `body` (for example closing a connection).
    func run(_ body: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            submit {
                body()
                continuation.resume()
            }
        }
    }

    /// Lets the threads exit once the queue is empty. Idempotent.
    func shutdown() {
        condition.lock()
        isShutdown = true
        condition.broadcast()
        condition.unlock()
    }

    private func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        if isShutdown {
            condition.unlock()
            Thread { job() }.start()
            return
        }
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func workerLoop() {
        while let job = nextJob() { job() }
    }

    private func nextJob() -> (@Sendable () -> Void)? {
        condition.lock()
        defer { condition.unlock() }
        while head == jobs.count && !isShutdown { condition.wait() }
        guard head < jobs.count else { return nil }
        let job = jobs[head]
        head += 1
        if head == jobs.count {
            jobs.removeAll(keepingCapacity: true)
            head = 0
        }
        return job
    }
}
