import NakshaCore
import NakshaState

/// The worker's bookkeeping of the leases it holds: a value type stepped by the worker loop.
///
/// Invariants: at most `capacity` leases are held; a lease is either running or stopped
/// (the cluster said it is no longer current, or the worker is shutting down); a stopped
/// lease reports nothing.
struct LeaseBook: Sendable, Equatable {
    let capacity: Int
    private(set) var running: [LeaseReference: TaskAssignment] = [:]
    private(set) var stopped: Set<LeaseReference> = []

    init(capacity: Int) {
        self.capacity = capacity
    }

    var free: Int { max(0, capacity - running.count) }
    var held: [LeaseReference] { running.keys.sorted() }

    /// Records granted leases; returns those to start (a duplicate grant is ignored).
    mutating func granted(_ assignments: [TaskAssignment]) -> [TaskAssignment] {
        var started: [TaskAssignment] = []
        for assignment in assignments where running[assignment.lease] == nil {
            running[assignment.lease] = assignment
            started.append(assignment)
        }
        return started
    }

    /// Marks leases the cluster no longer honours; returns those that were running here.
    mutating func stop(_ leases: [LeaseReference]) -> [LeaseReference] {
        let hit = leases.filter { running[$0] != nil && !stopped.contains($0) }
        stopped.formUnion(hit)
        return hit
    }

    func isStopped(_ lease: LeaseReference) -> Bool { stopped.contains(lease) }

    /// The task is done (reported, or given up): its slot is free again.
    mutating func finished(_ lease: LeaseReference) {
        running[lease] = nil
        stopped.remove(lease)
    }
}
