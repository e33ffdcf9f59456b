import NakshaCore
import NakshaRaftStorage
import RaftCore

/// One simulated server: a real `RaftReplica` (write-ahead log, snapshot store, state-machine
/// host and ready processing) over its own `SimulatedFileSystem`. A crash drops the replica
/// and makes the file system lose what was not durable; a restart opens the replica again from
/// what survived, exactly as the process would.
///
/// `storage` is the oracle, not the node's storage: what the node's successful ready batches
/// and snapshots say is synced. After every restart the recovered state must equal it (or,
/// after a failed batch, include a prefix of that batch).
struct SimulatedNode {
    static let directory = "/data"

    let id: ReplicaID
    var replica: RaftReplica?
    let fileSystem: SimulatedFileSystem
    /// Whether the node joined as a learner (it bootstraps with an empty membership).
    let joining: Bool
    var storage: SimulatedStorage
    /// The ready batch whose persist failed, if the node stopped on one: any prefix of it may
    /// be durable.
    var failedBatch: Ready? = nil
    /// A snapshot whose save failed (taken here): it may or may not be durable.
    var failedSnapshot: Snapshot? = nil
    var appliedIndex: LogIndex = 0
    var appliedDigest: UInt64 = 0
    var decommissioned = false
    /// Reads confirmed by ReadIndex waiting for the state machine to catch up.
    var pendingReads: [ReadState] = []
    var restarts: UInt64 = 0
    /// The tick at which a storage call of this node failed while the replica carried on
    /// (only possible with the `ignorePersistErrors` mutation): the process dies soon after.
    var failureNoticedAt: UInt64? = nil

    var core: RaftCore? { replica?.core }
    var isUp: Bool { replica != nil }

    init(id: ReplicaID, state: PersistentState, joining: Bool, fileSystem: SimulatedFileSystem) {
        self.id = id
        self.joining = joining
        self.fileSystem = fileSystem
        self.storage = SimulatedStorage(state: state)
    }

    /// The state machine a simulated node hosts (sub-machine 0).
    static func host(extra: (any ReplicatedStateMachine)? = nil) -> StateMachineHost {
        guard let extra else { return StateMachineHost([0: DigestMachine()]) }
        return StateMachineHost([0: DigestMachine(), SimulationWorkloadTag.machine: extra])
    }

    /// The digest after the last applied command, as the node's state machine holds it.
    var machineDigest: UInt64 {
        (replica?.host[0] as? DigestMachine)?.digest ?? 0
    }
}

/// The simulated application: a digest chained over every applied command (index, term and
/// bytes), so two replicas agree on the digest at an index exactly when they applied the same
/// commands up to it. `apply` returns the digest after it (8 bytes, little-endian).
struct DigestMachine: ReplicatedStateMachine {
    var digest: UInt64 = 0

    mutating func apply(_ command: [UInt8], context: ApplyContext) -> [UInt8] {
        var chain = TraceDigest()
        chain.mix(digest)
        chain.mix(context.index)
        chain.mix(context.term)
        chain.mix(command)
        digest = chain.value
        return Self.bytes(digest)
    }

    func snapshot() throws -> [UInt8] { [1] + Self.bytes(digest) }

    mutating func restore(_ snapshot: [UInt8]) throws {
        guard snapshot.count == 9, snapshot[0] == 1 else { throw StateMachineError(.malformed, "not a digest snapshot") }
        digest = Self.value(Array(snapshot[1...]))
    }

    static func bytes(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }

    static func value(_ bytes: [UInt8]) -> UInt64 {
        var value: UInt64 = 0
        for (position, byte) in bytes.prefix(8).enumerated() { value |= UInt64(byte) << (8 * UInt64(position)) }
        return value
    }

    /// The digest stored in a node snapshot (the host's bytes), or nil if it does not decode.
    static func digest(inNodeSnapshot data: [UInt8], extra: (any ReplicatedStateMachine)? = nil) -> UInt64? {
        var host = SimulatedNode.host(extra: extra)
        guard (try? host.restore(data)) != nil else { return nil }
        return (host[0] as? DigestMachine)?.digest
    }
}
