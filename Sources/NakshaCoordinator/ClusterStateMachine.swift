import NakshaRaft
import NakshaState
import Synchronization

/// `ClusterState` as a sub-machine of the coordinator's Raft node (tag 1): commands and
/// snapshots in `ClusterState`'s own versioned encoding; the entry's `ApplyContext` becomes
/// the state's `CommandContext` (index, term, the leader's timestamp).
struct ClusterStateMachine: ReplicatedStateMachine {
    static let tag: UInt8 = 1

    var state = ClusterState()
    /// Not replicated: wakes the coordinator's waiters after each change.
    let changed: StateChangeSignal

    init(changed: StateChangeSignal) {
        self.changed = changed
    }

    mutating func apply(_ command: [UInt8], context: ApplyContext) -> [UInt8] {
        let (result, bytes) = state.applyReturningResult(
            commandBytes: command, context: CommandContext(index: context.index, term: context.term, timestampMillis: context.timestampMillis))
        // Metrics only (the leader's): the state and the result bytes are untouched.
        if JobMetrics.shared.leading.load(ordering: .relaxed), case .success(let outcome) = result {
            JobMetrics.shared.applied(outcome, state: state)
        }
        changed.notifyAll()
        return bytes
    }

    func snapshot() throws -> [UInt8] { state.encoded() }

    mutating func restore(_ snapshot: [UInt8]) throws {
        state = try ClusterState.decode(snapshot)
        changed.notifyAll()
    }
}
