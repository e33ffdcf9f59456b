import RaftCore

/// One simulated server: its stable storage survives crashes; the core and the state machine
/// (a digest chain over applied commands) do not.
struct SimulatedNode: Sendable {
    let id: ReplicaID
    var core: RaftCore?
    var storage: SimulatedStorage
    var appliedIndex: LogIndex = 0
    var appliedDigest: UInt64 = 0
    var decommissioned = false
    /// Reads confirmed by ReadIndex waiting for the state machine to catch up.
    var pendingReads: [ReadState] = []
    var restarts: UInt64 = 0

    var isUp: Bool { core != nil }

    init(id: ReplicaID, state: PersistentState) {
        self.id = id
        self.storage = SimulatedStorage(state: state)
    }

    /// Rebuilds the state machine from the persisted snapshot, as after a restart.
    mutating func loadStateMachine() {
        appliedIndex = storage.snapshot.metadata.index
        appliedDigest = SimulatedNode.decodeDigest(storage.snapshot.data)
        pendingReads = []
    }

    var snapshotData: [UInt8] {
        var bytes: [UInt8] = []
        var value = appliedDigest
        for _ in 0..<8 {
            bytes.append(UInt8(value & 0xff))
            value >>= 8
        }
        return bytes
    }

    static func decodeDigest(_ bytes: [UInt8]) -> UInt64 {
        var value: UInt64 = 0
        for (position, byte) in bytes.prefix(8).enumerated() {
            value |= UInt64(byte) << (8 * UInt64(position))
        }
        return value
    }
}
