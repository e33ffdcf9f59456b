import Synchronization

/// Wakes whoever waits for the cluster state to change: the `ClusterStateMachine` calls
/// `notifyAll()` after every applied entry (and after a snapshot is restored), and the job
/// API's `?wait`, the event stream and the workers' lease long-poll `wait(timeout:)` for it
/// instead of polling on a timer.
///
/// Invariants: every registered waiter is resumed exactly once — by a notification, by its
/// timeout, or by its task's cancellation, whichever comes first; a waiter cancelled before
/// it registered is never registered.
final class StateChangeSignal: Sendable {
    private struct Waiters {
        var nextID: UInt64 = 0
        var waiting: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var cancelledEarly: Set<UInt64> = []
    }

    private let waiters = Mutex(Waiters())

    /// Resumes every waiter. Cheap when nobody waits (one lock).
    func notifyAll() {
        let resumed: [CheckedContinuation<Void, Never>] = waiters.withLock { state in
            guard !state.waiting.isEmpty else { return [] }
            let all = Array(state.waiting.values)
            state.waiting.removeAll(keepingCapacity: true)
            return all
        }
        for continuation in resumed { continuation.resume() }
    }

    /// Returns at the next `notifyAll()`, after `timeout`, or when the task is cancelled.
    func wait(timeout: Duration) async {
        let id = waiters.withLock { state -> UInt64 in
            state.nextID &+= 1
            return state.nextID
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForNotification(id) }
            group.addTask { try? await Task.sleep(for: timeout) }  // cancelled: the notification came first
            _ = await group.next()
            group.cancelAll()
        }
    }

    private func waitForNotification(_ id: UInt64) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = waiters.withLock { state -> Bool in
                    if state.cancelledEarly.remove(id) != nil { return true }
                    state.waiting[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = waiters.withLock { state -> CheckedContinuation<Void, Never>? in
                if let continuation = state.waiting.removeValue(forKey: id) { return continuation }
                state.cancelledEarly.insert(id)
                return nil
            }
            continuation?.resume()
        }
    }
}
