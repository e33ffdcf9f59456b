import NakshaWire
import RaftCore

/// The durable side of a `RaftNode`: Raft entries and hard state in the write-ahead log,
/// snapshots in the snapshot store.
///
/// Record types: 1 = log entry (tag = index), 2 = hard state. Replaying keeps, for each
/// index, the entry written last (a new leader may overwrite a follower's uncommitted
/// suffix), and the last hard state.
final class RaftStorage {
    static let entryRecord: UInt8 = 1
    static let hardStateRecord: UInt8 = 2

    let wal: WriteAheadLog
    let snapshots: SnapshotStore
    private let encoder = BinaryEncoder()
    private let decoder = BinaryDecoder(limits: .snapshot)
    private let metrics: RaftMetrics?
    /// The hard state last written: a change of term or vote must be synced.
    private var lastHardState = HardState()

    init(directory: String, segmentSizeBytes: Int, metrics: RaftMetrics? = nil) throws {
        self.metrics = metrics
        try FileIO.makeDirectory(directory)
        wal = try WriteAheadLog(directory: "\(directory)/wal", segmentSizeBytes: segmentSizeBytes)
        snapshots = try SnapshotStore(directory: "\(directory)/snapshots")
    }

    /// What the node restarts from, or `nil` for a node that has never persisted anything.
    /// `initial` is the state the node was first started from: until the first snapshot is
    /// saved, its (index 0) snapshot is what carries the bootstrap membership.
    func load(initial: PersistentState) throws -> PersistentState? {
        let stored = try snapshots.latest().snapshot
        let snapshot = try stored.map { try decoder.decode(Snapshot.self, from: $0.data) }
        var hardState: HardState? = nil
        var entries: [LogEntry] = []
        for record in wal.recovered {
            switch record.type {
            case Self.hardStateRecord:
                hardState = try decoder.decode(HardState.self, from: record.payload)
            case Self.entryRecord:
                let entry = try decoder.decode(LogEntry.self, from: record.payload)
                if let last = entries.last, entry.index <= last.index {
                    entries.removeAll { $0.index >= entry.index }
                }
                entries.append(entry)
            default:
                throw WALError(.corruptRecord, "unknown record type \(record.type) in \(wal.directory)")
            }
        }
        guard hardState != nil || snapshot != nil || !entries.isEmpty else { return nil }
        let base = snapshot ?? initial.snapshot
        entries.removeAll { $0.index <= base.metadata.index }
        if let first = entries.first, first.index != base.metadata.index + 1 {
            throw WALError(.corruptRecord, "log in \(wal.directory) starts at \(first.index) but the snapshot ends at \(base.metadata.index)")
        }
        lastHardState = hardState ?? HardState()
        return PersistentState(hardState: hardState ?? HardState(), snapshot: base, entries: entries)
    }

    /// Persists a ready batch with one sync: entries, then the hard state.
    ///
    /// A batch that only advances the commit index is written without a sync (as etcd's
    /// `MustSync`): the commit index can always be learned again from the leader, and a
    /// crash can lose it only as a torn tail. New entries, a new term or a vote are synced
    /// before anything that depends on them is sent.
    func persist(entries: [LogEntry], hardState: HardState?) throws {
        var records: [WALRecord] = []
        records.reserveCapacity(entries.count + 1)
        for entry in entries {
            records.append(WALRecord(type: Self.entryRecord, tag: entry.index, payload: try encoder.encode(entry)))
        }
        var mustSync = !entries.isEmpty
        if let hardState {
            let record = WALRecord(type: Self.hardStateRecord, tag: 0, payload: try encoder.encode(hardState))
            records.append(record)
            wal.preamble = [record]
            mustSync = mustSync || hardState.term != lastHardState.term || hardState.vote != lastHardState.vote
            lastHardState = hardState
        }
        guard !records.isEmpty else { return }
        guard mustSync else {
            try wal.append(records, sync: false)
            return
        }
        let started = ContinuousClock.now
        try wal.append(records)
        metrics?.walSynced(duration: .now - started)
    }

    /// Saves a snapshot and drops the log segments it covers.
    func save(_ snapshot: Snapshot) throws {
        try Self.write(snapshot, to: snapshots)
        try logCovered(by: snapshot)
    }

    /// Encodes, compresses and durably writes `snapshot` to `store`. Touches nothing else,
    /// so it may run on any thread; `logCovered(by:)` completes the save afterwards.
    static func write(_ snapshot: Snapshot, to store: SnapshotStore) throws {
        try store.save(StoredSnapshot(index: snapshot.metadata.index, term: snapshot.metadata.term, data: try BinaryEncoder().encode(snapshot)))
    }

    /// Drops the log segments a durable snapshot covers.
    func logCovered(by snapshot: Snapshot) throws {
        try wal.removeSegments(withTagsBelow: snapshot.metadata.index + 1)
    }
}
