import Synchronization

/// Outgoing calls waiting for their reply, keyed by call id.
///
/// Invariant: each continuation is resumed exactly once — by the reply, by the deadline
/// sweeper, by cancellation, or by the loss of its connection — whichever comes first; the
/// others find the entry gone and do nothing.
final class PendingCalls: Sendable {
    private struct Entry {
        var continuation: CheckedContinuation<ReplyEnvelope, any Error>
        var deadline: ContinuousClock.Instant
        var connectionID: UInt64
    }

    private let entries = Mutex<[UInt64: Entry]>([:])

    func register(
        _ callID: UInt64, connectionID: UInt64, deadline: ContinuousClock.Instant,
        continuation: CheckedContinuation<ReplyEnvelope, any Error>
    ) {
        entries.withLock { $0[callID] = Entry(continuation: continuation, deadline: deadline, connectionID: connectionID) }
    }

    /// Resumes call `callID` with its reply; `false` if it already ended.
    @discardableResult
    func complete(_ callID: UInt64, with reply: ReplyEnvelope) -> Bool {
        guard let entry = entries.withLock({ $0.removeValue(forKey: callID) }) else { return false }
        entry.continuation.resume(returning: reply)
        return true
    }

    /// Fails call `callID`; `false` if it already ended.
    @discardableResult
    func fail(_ callID: UInt64, with error: RemoteCallError) -> Bool {
        guard let entry = entries.withLock({ $0.removeValue(forKey: callID) }) else { return false }
        entry.continuation.resume(throwing: error)
        return true
    }

    /// Fails every call whose deadline is at or before `now`; returns their ids.
    func expire(now: ContinuousClock.Instant) -> [UInt64] {
        let expired = entries.withLock { entries -> [(UInt64, Entry)] in
            let due = entries.filter { $0.value.deadline <= now }
            for (callID, _) in due { entries.removeValue(forKey: callID) }
            return due.map { ($0.key, $0.value) }
        }
        for (_, entry) in expired {
            entry.continuation.resume(throwing: RemoteCallError(.deadlineExceeded, "no reply before the call's deadline"))
        }
        return expired.map(\.0)
    }

    /// Fails every call sent on connection `connectionID` (it closed).
    func failAll(onConnection connectionID: UInt64, with error: RemoteCallError) {
        let lost = entries.withLock { entries -> [Entry] in
            let matching = entries.filter { $0.value.connectionID == connectionID }
            for (callID, _) in matching { entries.removeValue(forKey: callID) }
            return Array(matching.values)
        }
        for entry in lost { entry.continuation.resume(throwing: error) }
    }

    /// Fails every call (shutdown).
    func failAll(with error: RemoteCallError) {
        let all = entries.withLock { entries -> [Entry] in
            defer { entries.removeAll() }
            return Array(entries.values)
        }
        for entry in all { entry.continuation.resume(throwing: error) }
    }

    var count: Int { entries.withLock { $0.count } }
}

/// Incoming calls being executed, so that a `cancel` frame or the caller's deadline can
/// cancel the handler's task.
final class IncomingCalls: Sendable {
    struct Key: Hashable {
        var connectionID: UInt64
        var callID: UInt64
    }

    private enum Slot {
        /// Announced, task not created yet.
        case starting
        case running(Task<Void, Never>, deadline: ContinuousClock.Instant)
    }

    private let slots = Mutex<[Key: Slot]>([:])

    /// Called before the handler's task is created.
    func begin(_ key: Key) {
        slots.withLock { $0[key] = .starting }
    }

    /// Called once the task exists; does nothing if the task already finished (it never
    /// suspended) and removed its slot.
    func register(_ key: Key, task: Task<Void, Never>, deadline: ContinuousClock.Instant) {
        slots.withLock { slots in
            if case .starting = slots[key] { slots[key] = .running(task, deadline: deadline) }
        }
    }

    /// Called by the handler's task when it is done.
    func finished(_ key: Key) {
        _ = slots.withLock { $0.removeValue(forKey: key) }
    }

    func cancel(_ key: Key) {
        let slot = slots.withLock { $0.removeValue(forKey: key) }
        if case .running(let task, _) = slot { task.cancel() }
    }

    func cancelAll(onConnection connectionID: UInt64) {
        let matching = slots.withLock { slots -> [Slot] in
            let keys = slots.keys.filter { $0.connectionID == connectionID }
            return keys.compactMap { slots.removeValue(forKey: $0) }
        }
        for case .running(let task, _) in matching { task.cancel() }
    }

    var count: Int { slots.withLock { $0.count } }

    func expire(now: ContinuousClock.Instant) {
        let due = slots.withLock { slots -> [Task<Void, Never>] in
            var tasks: [Task<Void, Never>] = []
            for (key, slot) in slots {
                if case .running(let task, let deadline) = slot, deadline <= now {
                    tasks.append(task)
                    slots.removeValue(forKey: key)
                }
            }
            return tasks
        }
        for task in due { task.cancel() }
    }
}
