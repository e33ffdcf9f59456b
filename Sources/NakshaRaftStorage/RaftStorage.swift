import NakshaWire
import RaftCore

/// The durable side of a Raft replica: entries, hard state, the bootstrap membership and
/// snapshot markers in the write-ahead log; snapshots in the snapshot store.
///
/// Record types: 1 = log entry (tag = index), 2 = hard state, 3 = snapshot marker (tag =
/// the snapshot's index), 4 = bootstrap (the membership the group was created with).
///
/// Replay rules (`load`), in log order:
/// - an entry at an index at or below the last one replaces that suffix (a new leader
///   overwrote it); an entry past `last + 1` is a gap: refuse;
/// - an *install* marker (a snapshot received from the leader) discards every entry before
///   it; a *covered* marker (a snapshot taken here, or a preamble copy of any marker)
///   discards entries at or below its index;
/// - the last hard state wins, and its term never decreases.
///
/// Checks before anything starts (each failure names the file): the bootstrap record exists;
/// the newest snapshot that verifies is not older than the newest marker (else the log it
/// needs is gone); the log is contiguous after the snapshot; terms never decrease along it;
/// the commit index is not past the last index.
///
/// Durability (see docs/raft.md): entries, a new term or vote, the bootstrap record and
/// markers are synced before `persist`/`bootstrap`/`install` return; a commit-only hard state
/// is written without a sync (it can be learned again from the leader).
public final class RaftStorage {
    static let entryRecord: UInt8 = 1
    static let hardStateRecord: UInt8 = 2
    static let snapshotMarkerRecord: UInt8 = 3
    static let bootstrapRecord: UInt8 = 4

    /// Test-only switches that re-introduce fixed bugs, so the simulator can show it finds
    /// them (docs/raft.md lists the seeds).
    public struct Mutations: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// 1d: an installed snapshot writes no marker, so replay brings back discarded entries.
        public static let skipInstallMarker = Mutations(rawValue: 1 << 0)
        /// 1e: the preamble is not restored at load, so a new segment lacks the hard state.
        public static let skipPreambleRestore = Mutations(rawValue: 1 << 1)
        /// 1c: segment removal deletes any covered segment, not only a prefix.
        public static let removeAnyCoveredSegment = Mutations(rawValue: 1 << 2)
        /// 1f: the repair of a snapshot whose marker is missing writes an install marker and
        /// then every kept entry again, so a torn repair loses the entries not re-written.
        public static let tearableMarkerRepair = Mutations(rawValue: 1 << 3)
    }

    /// What a replica restarts from.
    public struct Loaded: Sendable, Equatable {
        public var state: PersistentState
        /// The membership the group was created with (voters), or empty for a node that
        /// started with `join`.
        public var bootstrapMembership: Membership
        public var joined: Bool

        /// The membership in force at the end of the stored log (what a restart uses).
        public var currentMembership: Membership {
            for entry in state.entries.reversed() {
                if let membership = entry.resultingMembership { return membership }
            }
            return state.snapshot.metadata.membership
        }
    }

    public let wal: WriteAheadLog
    public let snapshots: SnapshotStore
    public var mutations: Mutations {
        didSet { wal.testingRemoveAnyCoveredSegment = mutations.contains(.removeAnyCoveredSegment) }
    }
    private let encoder = BinaryEncoder()
    private let decoder = BinaryDecoder(limits: .snapshot)
    private let syncObserver: (@Sendable (Duration) -> Void)?
    /// The hard state last written: a change of term or vote must be synced.
    private var lastHardState = HardState()
    private var bootstrapRecordValue: WALRecord? = nil
    private var markerRecordValue: WALRecord? = nil
    private var hardStateRecordValue: WALRecord? = nil

    public init(
        directory: String, fileSystem: any FileSystem = POSIXFileSystem(), segmentSizeBytes: Int = 64 << 20,
        mutations: Mutations = [], syncObserver: (@Sendable (Duration) -> Void)? = nil
    ) throws(WALError) {
        self.syncObserver = syncObserver
        self.mutations = mutations
        try fileSystem.makeDirectory(directory)
        wal = try WriteAheadLog(directory: "\(directory)/wal", fileSystem: fileSystem, segmentSizeBytes: segmentSizeBytes)
        wal.testingRemoveAnyCoveredSegment = mutations.contains(.removeAnyCoveredSegment)
        snapshots = try SnapshotStore(directory: "\(directory)/snapshots", fileSystem: fileSystem)
    }

    // MARK: Bootstrap

    /// Records, once and synced, the membership this node starts a new group with (or that
    /// it joins one, with an empty membership). Every later start reads it back: the stored
    /// membership wins over any flag.
    public func bootstrap(_ membership: Membership, joining: Bool) throws {
        var payload: [UInt8] = [1, joining ? 1 : 0]
        payload.append(contentsOf: try encoder.encode(membership))
        let record = WALRecord(type: Self.bootstrapRecord, tag: 0, payload: payload)
        bootstrapRecordValue = record
        rebuildPreamble()
        try appendSynced([record])
    }

    // MARK: Load

    /// What the node restarts from, or nil for a directory where nothing was persisted.
    /// Throws `WALError` (naming the file) when what is stored fails a check.
    public func load() throws -> Loaded? {
        var bootstrap: (membership: Membership, joining: Bool)? = nil
        var hardState: HardState? = nil
        var entries: [LogEntry] = []
        var marker: (index: UInt64, term: UInt64, path: String)? = nil
        var gap: (below: UInt64, description: String)? = nil
        for (position, record) in wal.recovered.enumerated() {
            let path = wal.recoveredPaths[position]
            switch record.type {
            case Self.hardStateRecord:
                let decoded = try decoder.decode(HardState.self, from: record.payload)
                if let previous = hardState, decoded.term < previous.term {
                    throw WALError(.corruptRecord, "\(path): the stored term goes back from \(previous.term) to \(decoded.term); refusing to start")
                }
                hardState = decoded
                hardStateRecordValue = record
            case Self.entryRecord:
                let entry = try decoder.decode(LogEntry.self, from: record.payload)
                if let last = entries.last, entry.index <= last.index {
                    entries.removeAll { $0.index >= entry.index }
                }
                if let last = entries.last, entry.index != last.index + 1 {
                    // A gap is fine only if a snapshot covers it: checked once the snapshot
                    // is known (an install whose marker was lost leaves exactly this).
                    if entry.index - 1 > (gap?.below ?? 0) { gap = (entry.index - 1, "\(path): entry \(entry.index) follows entry \(last.index)") }
                    entries.removeAll()
                }
                entries.append(entry)
            case Self.snapshotMarkerRecord:
                let decoded = try Self.decodeMarker(record.payload, path: path)
                if decoded.install {
                    entries.removeAll()
                } else {
                    entries.removeAll { $0.index <= decoded.index }
                }
                if decoded.index >= (marker?.index ?? 0) {
                    marker = (decoded.index, decoded.term, path)
                    markerRecordValue = Self.markerRecord(index: decoded.index, term: decoded.term, install: false)
                }
            case Self.bootstrapRecord:
                guard record.payload.count >= 2, record.payload[0] == 1 else {
                    throw WALError(.corruptRecord, "\(path): bootstrap record of an unknown version; refusing to start")
                }
                let membership = try decoder.decode(Membership.self, from: Array(record.payload[2...]))
                bootstrap = (membership, record.payload[1] == 1)
                bootstrapRecordValue = record
            default:
                throw WALError(.corruptRecord, "\(path): unknown record type \(record.type); refusing to start")
            }
        }
        lastHardState = hardState ?? HardState()
        if !mutations.contains(.skipPreambleRestore) {
            rebuildPreamble()  // before anything below may write (and so start a segment)
        }
        let stored = try snapshots.latest()
        guard hardState != nil || stored.snapshot != nil || !entries.isEmpty || bootstrap != nil else { return nil }
        guard let bootstrap else {
            throw WALError(
                .corruptRecord,
                "\(wal.directory) holds a log but no bootstrap membership record (written by an older Naksha, or damaged); refusing to start. Remove the data directory and add the node back as a learner under a new id")
        }
        if let marker, (stored.snapshot?.index ?? 0) < marker.index {
            let skipped = stored.skipped.isEmpty ? "" : " (damaged: \(stored.skipped.joined(separator: "; ")))"
            throw WALError(
                .corruptSnapshot,
                "\(marker.path): the log relies on the snapshot at index \(marker.index), but the newest snapshot in \(snapshots.directory) that verifies is at \(stored.snapshot?.index ?? 0)\(skipped); the entries in between were deleted. Refusing to start: restore this node from a peer (remove its data directory and add it back as a learner under a new id)")
        }
        let base: Snapshot
        if let snapshot = stored.snapshot {
            base = try decoder.decode(Snapshot.self, from: snapshot.data)
        } else {
            base = PersistentState.bootstrap(voters: bootstrap.membership.voters).snapshot
        }
        if let gap, gap.below > base.metadata.index {
            throw WALError(.corruptRecord, "\(gap.description) (a gap in the log after the snapshot at \(base.metadata.index)); refusing to start")
        }
        entries.removeAll { $0.index <= base.metadata.index }
        // A snapshot newer than every marker: the node stopped after the snapshot file was
        // durable and before its marker was. For an installed snapshot the log before it
        // should have been discarded: entries after it with a lower term are that stale
        // suffix (never committed: committed terms never decrease), and are dropped. The
        // marker is then written, so the log on disk is consistent again.
        let markerMissing = (stored.snapshot?.index ?? 0) > (marker?.index ?? 0)
        var previousTerm = base.metadata.term
        var expected = base.metadata.index + 1
        var kept: [LogEntry] = []
        for entry in entries {
            guard entry.index == expected else {
                throw WALError(.corruptRecord, "\(wal.directory): the log resumes at \(entry.index) but the snapshot ends at \(base.metadata.index); refusing to start")
            }
            guard entry.term >= previousTerm else {
                if markerMissing { break }
                throw WALError(.corruptRecord, "\(wal.directory): entry \(entry.index) has term \(entry.term) after term \(previousTerm) (terms never decrease); refusing to start")
            }
            kept.append(entry)
            previousTerm = entry.term
            expected += 1
        }
        if markerMissing {
            try completeInterruptedSnapshot(base, keeping: kept, dropped: entries.count - kept.count)
        }
        entries = kept
        var restoredHardState = hardState ?? HardState()
        if restoredHardState.term < previousTerm {
            // Entries of a newer term were written in a batch whose hard state record was
            // torn off before its sync: nothing of that batch was acknowledged, and a vote in
            // that term would have been synced earlier, so the term is lifted with no vote.
            restoredHardState = HardState(term: previousTerm, vote: nil, commit: restoredHardState.commit)
        }
        let lastIndex = expected - 1
        if restoredHardState.commit > lastIndex {
            throw WALError(.corruptRecord, "\(wal.directory): the commit index \(restoredHardState.commit) is past the last index \(lastIndex); refusing to start")
        }
        return Loaded(
            state: PersistentState(hardState: restoredHardState, snapshot: base, entries: entries),
            bootstrapMembership: bootstrap.membership, joined: bootstrap.joining)
    }

    /// What `load` repaired, if anything (for the log line at start).
    public private(set) var repairReport: String? = nil

    /// Writes the marker a snapshot never got (and drops the stale suffix after `kept`), so
    /// that replaying the log no longer depends on anything before the snapshot.
    ///
    /// The repair must be safe to tear at any byte (its sync may fail and a crash keep a
    /// prefix) and to repeat (it runs again at the next start until its marker is durable):
    /// nothing it writes may make a durable entry disappear unless the whole repair is there.
    /// So it never writes an install marker (which discards every entry before it) followed
    /// by re-written entries — torn after the marker, that lost the entries it had not
    /// re-written yet. Instead: with no stale suffix, one plain marker (it only drops entries
    /// the snapshot covers); with one, first the last kept entry again (which truncates the
    /// stale entries after it and keeps every entry before it), then the plain marker; with
    /// no entry kept, one install marker (everything before it is covered or stale). Any
    /// prefix of these records leaves the log as it was or repaired.
    private func completeInterruptedSnapshot(_ base: Snapshot, keeping kept: [LogEntry], dropped: Int) throws {
        var records: [WALRecord] = []
        if mutations.contains(.tearableMarkerRepair) {
            records.append(Self.markerRecord(index: base.metadata.index, term: base.metadata.term, install: true))
            for entry in kept { records.append(WALRecord(type: Self.entryRecord, tag: entry.index, payload: try encoder.encode(entry))) }
        } else {
            if let last = kept.last, dropped > 0 {
                records.append(WALRecord(type: Self.entryRecord, tag: last.index, payload: try encoder.encode(last)))
            }
            let install = kept.isEmpty && dropped > 0
            records.append(Self.markerRecord(index: base.metadata.index, term: base.metadata.term, install: install))
        }
        markerRecordValue = Self.markerRecord(index: base.metadata.index, term: base.metadata.term, install: false)
        if !mutations.contains(.skipPreambleRestore) { rebuildPreamble() }
        try appendSynced(records)
        repairReport = "completed the snapshot at index \(base.metadata.index) whose marker was not written (\(dropped) stale entries after it dropped)"
    }

    // MARK: Writing

    /// Persists a ready batch with one sync: entries, then the hard state.
    ///
    /// A batch that only advances the commit index is written without a sync (as etcd's
    /// `MustSync`): the commit index can always be learned again from the leader, and a
    /// crash can lose it only as a torn tail. New entries, a new term or a vote are synced
    /// before anything that depends on them is sent.
    public func persist(entries: [LogEntry], hardState: HardState?) throws {
        var records: [WALRecord] = []
        records.reserveCapacity(entries.count + 1)
        for entry in entries {
            records.append(WALRecord(type: Self.entryRecord, tag: entry.index, payload: try encoder.encode(entry)))
        }
        var mustSync = !entries.isEmpty
        var hardStateRecord: WALRecord? = nil
        if let hardState {
            let record = WALRecord(type: Self.hardStateRecord, tag: 0, payload: try encoder.encode(hardState))
            records.append(record)
            hardStateRecord = record
            mustSync = mustSync || hardState.term != lastHardState.term || hardState.vote != lastHardState.vote
        }
        guard !records.isEmpty else { return }
        if mustSync {
            try appendSynced(records)
        } else {
            try wal.append(records, sync: false)
        }
        // Only now may new segments repeat this hard state: a segment started while this
        // batch is written must not hold a commit index whose entries are not yet written.
        if let hardState, let hardStateRecord {
            hardStateRecordValue = hardStateRecord
            lastHardState = hardState
            rebuildPreamble()
        }
    }

    /// Installs a snapshot received from the leader: the file is made durable, then an
    /// install marker is synced to the log (replay discards every entry before it), then the
    /// covered segments go.
    public func install(_ snapshot: Snapshot) throws {
        try Self.write(snapshot, to: snapshots)
        if !mutations.contains(.skipInstallMarker) {
            try appendMarker(for: snapshot, install: true)
        }
        try wal.removeSegments(withTagsBelow: snapshot.metadata.index + 1)
    }

    /// Saves a snapshot taken here and drops the log segments it covers.
    public func save(_ snapshot: Snapshot) throws {
        try Self.write(snapshot, to: snapshots)
        try logCovered(by: snapshot)
    }

    /// Encodes, compresses and durably writes `snapshot` to `store`. Touches nothing else,
    /// so it may run on any thread; `logCovered(by:)` completes the save afterwards.
    public static func write(_ snapshot: Snapshot, to store: SnapshotStore) throws {
        try store.save(StoredSnapshot(index: snapshot.metadata.index, term: snapshot.metadata.term, data: try BinaryEncoder().encode(snapshot)))
    }

    /// Records that a durable snapshot covers the log through its index (a synced marker),
    /// then drops the prefix of segments it covers.
    public func logCovered(by snapshot: Snapshot) throws {
        try appendMarker(for: snapshot, install: false)
        try wal.removeSegments(withTagsBelow: snapshot.metadata.index + 1)
    }

    /// Closes the log (a stopped node writes nothing more).
    public func close() { wal.close() }

    private func appendMarker(for snapshot: Snapshot, install: Bool) throws {
        let index = snapshot.metadata.index
        let term = snapshot.metadata.term
        // The preamble's copy only covers: replaying it must not discard entries appended
        // after the install, which sit in older segments before the copy.
        markerRecordValue = Self.markerRecord(index: index, term: term, install: false)
        rebuildPreamble()
        try appendSynced([Self.markerRecord(index: index, term: term, install: install)])
    }

    private func appendSynced(_ records: [WALRecord]) throws {
        let started = ContinuousClock.now
        try wal.append(records)
        syncObserver?(.now - started)
    }

    private func rebuildPreamble() {
        wal.preamble = [bootstrapRecordValue, markerRecordValue, hardStateRecordValue].compactMap { $0 }
    }

    static func markerRecord(index: UInt64, term: UInt64, install: Bool) -> WALRecord {
        var payload: [UInt8] = [1, install ? 1 : 2]
        payload.appendLittleEndian(index)
        payload.appendLittleEndian(term)
        return WALRecord(type: snapshotMarkerRecord, tag: index, payload: payload)
    }

    static func decodeMarker(_ payload: [UInt8], path: String) throws(WALError) -> (index: UInt64, term: UInt64, install: Bool) {
        guard payload.count == 18, payload[0] == 1, payload[1] == 1 || payload[1] == 2 else {
            throw WALError(.corruptRecord, "\(path): snapshot marker of an unknown version or kind; refusing to start")
        }
        let index = payload.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 2, as: UInt64.self)) }
        let term = payload.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 10, as: UInt64.self)) }
        return (index, term, payload[1] == 1)
    }
}

extension WireLimits {
    /// Limits for decoding a whole state-machine snapshot: its size is already bounded by
    /// the snapshot store (`SnapshotStore.maxSnapshotBytes`) and every count is checked
    /// against the bytes that remain, so the frame-sized default collection limit (16 Mi
    /// elements) would only refuse large, valid states — as it did a 27 MB one at restart.
    public static let snapshot = WireLimits(maxFrameBytes: Int(Int32.max), maxNestingDepth: 128, maxCollectionCount: Int(Int32.max))
}
