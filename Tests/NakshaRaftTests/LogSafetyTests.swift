import Foundation
import NakshaCore
import NakshaRaft
import NakshaWire
import RaftCore
import Synchronization
import Testing

// Issue 14, item 1: each storage fix with a test that fails against the old behaviour. Where a
// test-only switch re-introduces the bug (`RaftStorage.Mutations`, `RaftReplica.Mutations`),
// the test also turns it on and asserts that the bad outcome comes back, which shows the test
// can fail. All of it runs on the real POSIX file system in temporary directories.

// MARK: - Helpers

private let fiveVoters = Membership(voters: [1, 2, 3, 4, 5])

private func commandEntry(term: UInt64, index: UInt64) -> LogEntry {
    LogEntry(term: term, index: index, payload: .command(Array("t\(term)-i\(index)".utf8)))
}

private func entries(term: UInt64, _ range: ClosedRange<UInt64>) -> [LogEntry] {
    range.map { commandEntry(term: term, index: $0) }
}

private func snapshot(index: UInt64, term: UInt64, membership: Membership = fiveVoters) -> Snapshot {
    Snapshot(metadata: SnapshotMetadata(index: index, term: term, membership: membership), data: Array("state@\(index)".utf8))
}

/// A fresh storage in `directory` with its bootstrap record written.
private func bootstrappedStorage(
    _ directory: String, membership: Membership = fiveVoters, segmentSizeBytes: Int = 64 << 20, mutations: RaftStorage.Mutations = []
) throws -> RaftStorage {
    let storage = try RaftStorage(directory: directory, segmentSizeBytes: segmentSizeBytes, mutations: mutations)
    try storage.bootstrap(membership, joining: false)
    return storage
}

/// What a restart reads back from `directory`.
private func reload(_ directory: String, segmentSizeBytes: Int = 64 << 20) throws -> RaftStorage.Loaded? {
    try RaftStorage(directory: directory, segmentSizeBytes: segmentSizeBytes).load()
}

private func walFiles(_ directory: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: "\(directory)/wal").filter { $0.hasSuffix(".wal") }.sorted()
}

/// Every byte of the log's segments, in order (to show that nothing more was written).
private func walBytes(_ directory: String) throws -> [UInt8] {
    try walFiles(directory).flatMap { [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(directory)/wal/\($0)"))) }
}

/// Ticks a single-voter replica until it leads (a bounded loop, not a sleep).
private func electAlone(_ replica: RaftReplica) throws {
    for _ in 0..<200 where replica.core.role != .leader {
        try replica.tick()
        _ = try replica.processReady()
    }
    try #require(replica.core.role == .leader)
}

private func singleVoterReplica(
    _ directory: String, machines: [UInt8: any ReplicatedStateMachine] = [0: KeyValueStateMachine()],
    fileSystem: any FileSystem = POSIXFileSystem(), maxCommandBytes: Int = 4 << 20, mutations: RaftReplica.Mutations = []
) throws -> RaftReplica {
    let storage = try RaftStorage(directory: directory, fileSystem: fileSystem)
    return try RaftReplica(
        configuration: RaftCore.Configuration(id: ReplicaID(1)), storage: storage, host: StateMachineHost(machines),
        configuredVoters: [1], join: false, maxCommandBytes: maxCommandBytes, mutations: mutations)
}

private func putCommand(_ key: String, _ value: String) throws -> [UInt8] {
    try KeyValueStateMachine.encode(.put(key: key, value: Array(value.utf8)))
}

/// The POSIX file system whose `sync` fails with EIO once `failSyncs` is set (a disk that
/// went bad under the node).
private final class FailingSyncFileSystem: ForwardingFileSystem, @unchecked Sendable {
    let failSyncs = Atomic<Bool>(false)
    let failedSyncs = Atomic<Int>(0)

    override func sync(_ handle: FileHandleID, path: String) throws(WALError) {
        if failSyncs.load(ordering: .relaxed) {
            failedSyncs.add(1, ordering: .relaxed)
            throw WALError(.io, "fdatasync \(path): Input/output error")
        }
        try inner.sync(handle, path: path)
    }
}

/// Records the leader timestamp of every command it applies, as 8 little-endian bytes.
private struct TimestampRecorder: ReplicatedStateMachine {
    mutating func apply(_ command: [UInt8], context: ApplyContext) -> [UInt8] {
        withUnsafeBytes(of: context.timestampMillis.littleEndian) { Array($0) }
    }
    func snapshot() throws -> [UInt8] { [1] }
    mutating func restore(_ snapshot: [UInt8]) throws {}
}

/// A state machine that cannot produce a snapshot.
private struct UnsnapshottableMachine: ReplicatedStateMachine {
    struct Failure: Error {}
    mutating func apply(_ command: [UInt8], context: ApplyContext) -> [UInt8] { [] }
    func snapshot() throws -> [UInt8] { throw Failure() }
    mutating func restore(_ snapshot: [UInt8]) throws {}
}

/// Encodes like `Membership` (same field names and order) but keeps whatever it is given.
private struct RawMembership: Codable {
    var voters: [ReplicaID]
    var learners: [ReplicaID]
}

private func decodeUInt64(_ bytes: [UInt8]?) -> UInt64? {
    guard let bytes, bytes.count == 8 else { return nil }
    return bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
}

// MARK: - Tests

@Suite struct LogSafetyTests {
    // MARK: 1c

    /// Segment 1: bootstrap, term-1 entries 1–200 (101–200 stale). Segment 2: the term-2
    /// overwrite 101–164 and the hard state. A snapshot at 164 (term 2) is saved; its marker
    /// rotates into segment 3. Returns what was last synced.
    private static func buildOverwrittenThenSnapshotted(_ directory: String, mutations: RaftStorage.Mutations) throws -> PersistentState {
        let storage = try bootstrappedStorage(directory, segmentSizeBytes: 1024, mutations: mutations)
        try storage.persist(entries: entries(term: 1, 1...200), hardState: HardState(term: 1, vote: 1, commit: 100))
        let hardState = HardState(term: 2, vote: 2, commit: 164)
        try storage.persist(entries: entries(term: 2, 101...164), hardState: hardState)
        #expect(storage.wal.segmentCount == 2)
        let taken = snapshot(index: 164, term: 2)
        try storage.save(taken)
        return PersistentState(hardState: hardState, snapshot: taken, entries: [])
    }

    @Test func segmentRemovalAfterASnapshotDeletesOnlyAPrefixSoOverwrittenEntriesStayDead() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let synced = try Self.buildOverwrittenThenSnapshotted(directory, mutations: [])
        // Segment 1 still holds 165–200 of term 1, so it and everything after it stay.
        #expect(try walFiles(directory).count == 3)

        let loaded = try #require(try reload(directory, segmentSizeBytes: 1024))
        #expect(loaded.state == synced)
        #expect(!loaded.state.entries.contains { $0.term == 1 })
        #expect(loaded.bootstrapMembership == fiveVoters)
    }

    @Test func removingAnyCoveredSegmentBringsBackTermOneEntriesWhichLoadRefuses() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try Self.buildOverwrittenThenSnapshotted(directory, mutations: .removeAnyCoveredSegment)
        // The mutation deleted segment 2 (the term-2 overwrite) and kept segment 1.
        #expect(try walFiles(directory).count == 2)
        // Replay now has term-1 entries 165–200 after a term-2 snapshot: the old load returned
        // them as the log tail; the terms check refuses to start instead.
        do {
            let loaded = try reload(directory, segmentSizeBytes: 1024)
            Issue.record("load accepted a log whose term-1 entries came back: \(String(describing: loaded?.state.entries.first))")
        } catch let error as WALError {
            #expect(error.code == .corruptRecord)
            #expect(error.message.contains("\(directory)/wal"))
            #expect(error.message.contains("entry 165 has term 1 after term 2"))
        }
    }

    // MARK: 1d

    /// The local log: 1–20 of term 1, then 21–25 of term 3 from a deposed leader. The term-4
    /// leader sends a snapshot at 20 of term 2 (entry 20 differs, so the whole log goes).
    private static func installOverDivergentLog(_ directory: String, mutations: RaftStorage.Mutations) throws -> PersistentState {
        let storage = try bootstrappedStorage(directory, mutations: mutations)
        try storage.persist(entries: entries(term: 1, 1...20), hardState: HardState(term: 1, vote: 1, commit: 10))
        try storage.persist(entries: entries(term: 3, 21...25), hardState: HardState(term: 3, vote: 3, commit: 10))
        let installed = snapshot(index: 20, term: 2)
        try storage.install(installed)
        let hardState = HardState(term: 4, vote: nil, commit: 20)
        try storage.persist(entries: [], hardState: hardState)
        return PersistentState(hardState: hardState, snapshot: installed, entries: [])
    }

    @Test func installedSnapshotThenRestartBeforeAnyAppendDoesNotReplayDiscardedEntries() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let synced = try Self.installOverDivergentLog(directory, mutations: [])
        let loaded = try #require(try reload(directory))
        #expect(loaded.state == synced)
        #expect(loaded.state.entries.isEmpty)
    }

    @Test func installedSnapshotWithoutItsMarkerReplaysTheDiscardedEntries() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try Self.installOverDivergentLog(directory, mutations: .skipInstallMarker)
        let loaded = try #require(try reload(directory))
        #expect(loaded.state.snapshot.metadata.index == 20)
        #expect(loaded.state.entries == entries(term: 3, 21...25))  // the discarded tail is back
    }

    // MARK: 1e

    /// Session 1 writes the vote; session 2 (after a restart) appends entries into a new
    /// segment and saves a snapshot that deletes the segment the vote was written to.
    private static func restartThenRotateAndCompact(_ directory: String, mutations: RaftStorage.Mutations) throws -> HardState {
        let hardState = HardState(term: 5, vote: 2, commit: 30)
        do {
            let storage = try bootstrappedStorage(directory, segmentSizeBytes: 1024)
            try storage.persist(entries: entries(term: 5, 1...30), hardState: hardState)
        }
        do {
            let storage = try RaftStorage(directory: "\(directory)", segmentSizeBytes: 1024, mutations: mutations)
            _ = try storage.load()
            try storage.persist(entries: entries(term: 5, 31...40), hardState: nil)  // rotates: a new segment
            #expect(storage.wal.segmentCount == 2)
            try storage.save(snapshot(index: 30, term: 5))  // the marker fits: no second rotation
            #expect(storage.wal.segmentCount == 1)  // segment 1, with the only hard-state record, is gone
        }
        return hardState
    }

    @Test func afterARestartTheFirstNewSegmentStartsWithTheHardStateSoCompactionKeepsTermAndVote() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let hardState = try Self.restartThenRotateAndCompact(directory, mutations: [])
        let loaded = try #require(try reload(directory, segmentSizeBytes: 1024))
        #expect(loaded.state.hardState == hardState)
        #expect(loaded.bootstrapMembership == fiveVoters)
        #expect(loaded.state.snapshot.metadata.index == 30)
        #expect(loaded.state.entries == entries(term: 5, 31...40))
    }

    @Test func withoutThePreambleRestoredOnLoadCompactionLosesTermAndVote() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try Self.restartThenRotateAndCompact(directory, mutations: .skipPreambleRestore)
        // The only segment left starts without the preamble: no hard state and no bootstrap.
        let wal = try WriteAheadLog(directory: "\(directory)/wal", segmentSizeBytes: 1024)
        #expect(!wal.recovered.contains { $0.type == 2 })
        #expect(!wal.recovered.contains { $0.type == 4 })
        // Term 5 and the vote for 2 are gone (and the bootstrap record with them): what is
        // left no longer loads.
        do {
            let loaded = try reload(directory, segmentSizeBytes: 1024)
            Issue.record("load accepted a log without its hard state: \(String(describing: loaded?.state.hardState))")
        } catch let error as WALError {
            #expect(error.code == .corruptRecord)
            #expect(error.message.contains("no bootstrap membership record"))
        }
    }

    /// A follower's ready batch carries new entries and a commit index that covers them
    /// (RaftCore+Follower: commit = min(leaderCommit, lastNewIndex)). When that batch rotates
    /// the log, `startSegment` syncs the preamble before the batch is written. Had the
    /// preamble already taken the batch's hard state (as `persist` did at bff5e23), a crash
    /// before the batch's own fdatasync would leave a durable commit index past the last
    /// durable entry, and `load` would refuse to start for good.
    @Test func aCrashBeforeTheSyncOfABatchThatRotatedStillRestarts() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let storage = try bootstrappedStorage(directory, segmentSizeBytes: 256)
            try storage.persist(entries: entries(term: 1, 1...10), hardState: HardState(term: 1, vote: 1, commit: 5))
            #expect(storage.wal.segmentCount == 1)
            try storage.persist(entries: entries(term: 1, 11...20), hardState: HardState(term: 1, vote: 1, commit: 20))
            #expect(storage.wal.segmentCount == 2)
        }
        // The crash: what `startSegment` synced (header and preamble) stays, the batch after it
        // was never synced and is lost.
        let newest = "\(directory)/wal/\(try #require(try walFiles(directory).last))"
        let preamble = try Self.recordsEnd(newest, count: 2)
        try mutateFile(newest) { $0.removeSubrange(preamble...) }
        let records = try WriteAheadLog(directory: "\(directory)/wal").recovered
        #expect(records.last?.type == 2)  // the preamble's hard state
        #expect(records.filter { $0.type == 1 }.map(\.tag) == Array(1...10))

        // Nothing of the lost batch was acknowledged; the node must restart from what is left.
        let loaded = try #require(try reload(directory, segmentSizeBytes: 256))
        #expect(loaded.state.entries == entries(term: 1, 1...10))
        #expect(loaded.state.hardState.commit <= 10)
        #expect(loaded.state.hardState.term == 1)
    }

    /// The offset just past the first `count` records of a segment file.
    private static func recordsEnd(_ path: String, count: Int) throws -> Int {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var offset = 16
        for _ in 0..<count {
            let length = bytes[offset..<(offset + 4)].reversed().reduce(0) { $0 << 8 | Int($1) }
            offset += 17 + length
        }
        return offset
    }

    // MARK: 1f

    @Test func loadRefusesWhenTheNewestSnapshotIsDamagedAndTheLogItNeededIsGone() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let storage = try bootstrappedStorage(directory, segmentSizeBytes: 256)
            try storage.persist(entries: entries(term: 1, 1...10), hardState: HardState(term: 1, vote: 1, commit: 10))
            try storage.save(snapshot(index: 10, term: 1))
            try storage.persist(entries: entries(term: 1, 11...20), hardState: HardState(term: 1, vote: 1, commit: 20))
            try storage.save(snapshot(index: 20, term: 1))
        }
        // Entries 11–20 lived only in deleted segments; the snapshot at 10 alone is the wrong state.
        #expect(!(try WriteAheadLog(directory: "\(directory)/wal").recovered.contains { $0.type == 1 }))
        #expect(try reload(directory, segmentSizeBytes: 256)?.state.snapshot == snapshot(index: 20, term: 1))  // intact, it loads
        let damaged = "snapshot-0000000000000014.snap"
        #expect(FileManager.default.fileExists(atPath: "\(directory)/snapshots/snapshot-000000000000000a.snap"))
        try mutateFile("\(directory)/snapshots/\(damaged)") { $0[$0.count - 1] ^= 0x55 }
        do {
            let loaded = try reload(directory, segmentSizeBytes: 256)
            Issue.record("load fell back to an older snapshot: \(String(describing: loaded?.state.snapshot.metadata))")
        } catch let error as WALError {
            #expect(error.code == .corruptSnapshot)
            #expect(error.message.contains(damaged))
            #expect(error.message.contains("index 20"))
        }
    }

    @Test func emptyOrUnknownVersionSnapshotsAreRefusedByTheStateMachines() throws {
        var machine = KeyValueStateMachine()
        _ = machine.apply(try putCommand("k", "v"), context: .test(index: 1))
        #expect(throws: StateMachineError.self) { try machine.restore([]) }
        #expect(throws: StateMachineError.self) { try machine.restore([99] + (try machine.snapshot()).dropFirst()) }
        #expect(machine.values["k"] == Array("v".utf8))  // refused, nothing changed

        var host = StateMachineHost([0: KeyValueStateMachine()])
        #expect(throws: StateMachineError(.malformed, "node snapshot is empty")) { try host.restore([]) }
        var unknown = try host.snapshot()
        unknown[0] = StateMachineHost.snapshotVersion + 1
        do {
            try host.restore(unknown)
            Issue.record("an unknown snapshot version was accepted")
        } catch let error as StateMachineError {
            #expect(error.code == .unknownVersion)
        }
    }

    @Test func aStateMachineWhoseSnapshotFailsMakesTakeSnapshotThrowAndWritesNoSnapshot() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let replica = try singleVoterReplica(directory, machines: [0: UnsnapshottableMachine()])
        try electAlone(replica)
        _ = try replica.propose([1, 2, 3], machine: 0, requestID: RequestID(client: 7, sequence: 1), nowMillis: 1)
        _ = try replica.processReady()
        try #require(replica.applied >= 2)
        #expect(throws: UnsnapshottableMachine.Failure.self) { try replica.takeSnapshot() }
        #expect(try replica.storage.snapshots.latest().snapshot == nil)
        #expect(replica.core.snapshotIndex == 0)
        #expect(replica.stopError == nil)
    }

    // MARK: Load checks

    enum BadLog: String, CaseIterable, Sendable {
        case gap
        case decreasingEntryTerm
        case decreasingHardStateTerm
        case commitPastLastIndex
    }

    @Test(arguments: BadLog.allCases)
    func loadRefusesABadLogNamingTheFileOrDirectory(_ bad: BadLog) throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let encoder = BinaryEncoder()
        func entry(_ term: UInt64, _ index: UInt64) throws -> WALRecord {
            WALRecord(type: 1, tag: index, payload: try encoder.encode(commandEntry(term: term, index: index)))
        }
        func hardState(_ term: UInt64, commit: UInt64) throws -> WALRecord {
            WALRecord(type: 2, tag: 0, payload: try encoder.encode(HardState(term: term, vote: 1, commit: commit)))
        }
        var records = [WALRecord(type: 4, tag: 0, payload: [1, 0] + (try encoder.encode(Membership(voters: [1]))))]
        let expected: String
        switch bad {
        case .gap:
            records += [try entry(1, 1), try entry(1, 2), try entry(1, 4), try hardState(1, commit: 1)]
            expected = "entry 4 follows entry 2"
        case .decreasingEntryTerm:
            records += [try entry(2, 1), try entry(1, 2), try hardState(2, commit: 1)]
            expected = "entry 2 has term 1 after term 2"
        case .decreasingHardStateTerm:
            records += [try entry(1, 1), try hardState(3, commit: 1), try hardState(2, commit: 1)]
            expected = "term goes back from 3 to 2"
        case .commitPastLastIndex:
            records += [try entry(1, 1), try entry(1, 2), try hardState(1, commit: 5)]
            expected = "commit index 5 is past the last index 2"
        }
        do {
            let wal = try WriteAheadLog(directory: "\(directory)/wal")
            try wal.append(records)
        }
        let segment = "\(directory)/wal/\(try #require(try walFiles(directory).first))"
        do {
            let loaded = try reload(directory)
            Issue.record("load accepted a bad log (\(bad)): \(String(describing: loaded?.state))")
        } catch let error as WALError {
            #expect(error.code == .corruptRecord)
            #expect(error.message.contains(expected), "\(error.message)")
            #expect(error.message.contains("\(directory)/wal"))
            if bad == .gap || bad == .decreasingHardStateTerm {
                #expect(error.message.contains(segment))  // the record's own file
            }
        }
    }

    // MARK: 1a

    /// A data directory holding a 3-voter log with a few entries (as after the 20 writes).
    private static func threeVoterDirectory() throws -> String {
        let directory = try makeTemporaryDirectory()
        let replica = try RaftReplica(
            configuration: RaftCore.Configuration(id: ReplicaID(1)), storage: try RaftStorage(directory: directory),
            host: StateMachineHost([0: KeyValueStateMachine()]), configuredVoters: [1, 2, 3], join: false)
        try replica.storage.persist(entries: entries(term: 1, 1...3), hardState: HardState(term: 1, vote: 2, commit: 3))
        replica.storage.close()
        return directory
    }

    private static func reopen(_ directory: String, voters: [ReplicaID], mutations: RaftReplica.Mutations = []) throws -> RaftReplica {
        try RaftReplica(
            configuration: RaftCore.Configuration(id: ReplicaID(1)), storage: try RaftStorage(directory: directory),
            host: StateMachineHost([0: KeyValueStateMachine()]), configuredVoters: voters, join: false, mutations: mutations)
    }

    @Test func restartWithOtherVotersThanTheStoredMembershipIsRefused() throws {
        let directory = try Self.threeVoterDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            _ = try Self.reopen(directory, voters: [1])
            Issue.record("a restart with --peers listing only itself was accepted")
        } catch let error as RaftStartError {
            #expect(error.code == .membershipMismatch)
            #expect(error.message.contains("the stored members 2, 3 are not in --peers"), "\(error.message)")
            #expect(error.message.contains("naksha cluster add-learner"))
        }
        // The original voters, in any order, are accepted and the stored log is kept.
        let replica = try Self.reopen(directory, voters: [3, 1, 2])
        #expect(replica.core.membership == Membership(voters: [1, 2, 3]))
        #expect(replica.core.lastIndex == 3)
    }

    @Test func ignoringTheStoredMembershipLetsANodeRestartAloneAndElectItself() throws {
        let directory = try Self.threeVoterDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let replica = try Self.reopen(directory, voters: [1], mutations: .ignoreStoredMembership)
        #expect(replica.core.membership == Membership(voters: [1]))
        try electAlone(replica)  // the split brain: a leader of a group of one
    }

    // MARK: 1b

    @Test func aReplicaWhoseSyncFailsStopsAndPersistsNothingMore() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fileSystem = FailingSyncFileSystem()
        let replica = try singleVoterReplica(directory, fileSystem: fileSystem)
        try electAlone(replica)
        let acknowledged = try replica.propose(try putCommand("a", "1"), machine: 0, requestID: RequestID(client: 9, sequence: 1), nowMillis: 10)
        _ = try replica.processReady()
        #expect(replica.applied == acknowledged)

        fileSystem.failSyncs.store(true, ordering: .relaxed)
        let unsynced = try replica.propose(try putCommand("b", "2"), machine: 0, requestID: RequestID(client: 9, sequence: 2), nowMillis: 11)
        #expect(throws: WALError.self) { _ = try replica.processReady() }
        #expect(fileSystem.failedSyncs.load(ordering: .relaxed) == 1)  // never retried
        #expect(replica.stopError != nil)
        #expect(replica.applied == acknowledged)  // the unsynced entry was not applied
        let bytesAtStop = try walBytes(directory)

        for call in 0..<4 {
            do {
                switch call {
                case 0: try replica.tick()
                case 1: try replica.step(RaftMessage(from: 2, to: 1, term: 99, kind: .heartbeat(commitIndex: 0, readSequence: 0)))
                case 2: _ = try replica.propose(try putCommand("c", "3"), machine: 0, requestID: RequestID(client: 9, sequence: 3), nowMillis: 12)
                default: _ = try replica.processReady()
                }
                Issue.record("call \(call) ran on a stopped replica")
            } catch let error as RaftError {
                #expect(error.code == .nodeStopped)
            }
        }
        #expect(fileSystem.failedSyncs.load(ordering: .relaxed) == 1)
        #expect(try walBytes(directory) == bytesAtStop)

        // Restart on a healthy disk: the log ends at the batch that failed, nothing after it.
        let loaded = try #require(try reload(directory))
        #expect(loaded.state.entries.last.map { $0.index <= unsynced } == true)
        #expect(loaded.state.entries.contains { $0.index == acknowledged })
    }

    @Test func ignoringPersistErrorsLetsTheReplicaApplyAndAcceptMoreAfterAFailedSync() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fileSystem = FailingSyncFileSystem()
        let replica = try singleVoterReplica(directory, fileSystem: fileSystem, mutations: .ignorePersistErrors)
        try electAlone(replica)
        fileSystem.failSyncs.store(true, ordering: .relaxed)
        let unsynced = try replica.propose(try putCommand("b", "2"), machine: 0, requestID: RequestID(client: 9, sequence: 2), nowMillis: 11)
        _ = try replica.processReady()  // the bug: no error
        _ = try replica.processReady()
        #expect(replica.stopError == nil)
        #expect(replica.applied >= unsynced)  // applied (acknowledged) although never synced
        let bytesBefore = try walBytes(directory)
        _ = try replica.propose(try putCommand("c", "3"), machine: 0, requestID: RequestID(client: 9, sequence: 3), nowMillis: 12)
        _ = try replica.processReady()
        #expect(try walBytes(directory).count > bytesBefore.count)  // and it keeps writing
    }

    // MARK: 1g / 1j

    @Test func aCommandOverMaxCommandBytesIsRefusedAndNothingIsAppended() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let replica = try singleVoterReplica(directory, maxCommandBytes: 64)
        try electAlone(replica)
        let lastIndex = replica.core.lastIndex
        let bytesBefore = try walBytes(directory)
        do {
            _ = try replica.propose([UInt8](repeating: 7, count: 65), machine: 0, requestID: RequestID(client: 1, sequence: 1), nowMillis: 1)
            Issue.record("a command over maxCommandBytes was accepted")
        } catch {
            #expect(error.code == .commandTooLarge)
        }
        #expect(replica.core.lastIndex == lastIndex)
        #expect(try replica.processReady().allSatisfy { $0.ready.entries.isEmpty })
        #expect(try walBytes(directory) == bytesBefore)
        // At the limit it is accepted.
        let index = try replica.propose([UInt8](repeating: 7, count: 64), machine: 0, requestID: RequestID(client: 1, sequence: 2), nowMillis: 1)
        #expect(index == lastIndex + 1)
    }

    @Test func aDuplicateRequestIDIsAppliedOnceAndAnswersTheFirstResultAlsoAfterASnapshot() throws {
        var host = StateMachineHost([0: KeyValueStateMachine()])
        let put = CommandEnvelope(requestID: RequestID(client: 5, sequence: 1), timestampMillis: 100, machine: 0, payload: try putCommand("k", "v"))
        let delete = CommandEnvelope(
            requestID: RequestID(client: 5, sequence: 2), timestampMillis: 101, machine: 0, payload: try KeyValueStateMachine.encode(.delete(key: "k")))
        #expect(host.apply(put, index: 1, term: 1) == Array("ok".utf8))
        #expect(host.apply(delete, index: 2, term: 1) == Array("ok".utf8))
        // Applied again, the delete would answer "absent"; the host answers its first result.
        #expect(host.apply(delete, index: 3, term: 1) == Array("ok".utf8))
        #expect(host.duplicatesDropped == 1)
        #expect((host[0] as? KeyValueStateMachine)?.appliedCommands == 2)

        var restored = StateMachineHost([0: KeyValueStateMachine()])
        try restored.restore(try host.snapshot())
        #expect(restored.result(of: delete.requestID) == Array("ok".utf8))
        #expect(restored.apply(delete, index: 4, term: 2) == Array("ok".utf8))
        #expect(restored.apply(put, index: 5, term: 2) == Array("ok".utf8))
        #expect(restored.duplicatesDropped == 2)
        let machine = try #require(restored[0] as? KeyValueStateMachine)
        #expect(machine.appliedCommands == 2)
        #expect(machine.values["k"] == nil)  // the replayed put did not bring the key back
    }

    // MARK: 1k

    @Test func membershipDecodedFromBytesIsDeduplicatedSortedAndDisjoint() throws {
        let raw = RawMembership(voters: [3, 1, 3, 2, 1], learners: [4, 2, 4, 5])
        let decoded = try BinaryDecoder().decode(Membership.self, from: try BinaryEncoder().encode(raw))
        #expect(decoded.voters == [1, 2, 3])
        #expect(decoded.learners == [4, 5])
        #expect(decoded == Membership(voters: [1, 2, 3], learners: [4, 5]))
        #expect(decoded.quorum == 2)
    }

    // MARK: 3 (ApplyContext)

    @Test func appliedTimestampsNeverDecreaseWhenTheProposerClockGoesBack() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let replica = try singleVoterReplica(directory, machines: [0: TimestampRecorder()])
        try electAlone(replica)
        var stamps: [UInt64] = []
        for (sequence, now) in [(1, 1000), (2, 500), (3, 1200)] as [(UInt64, UInt64)] {
            _ = try replica.propose([0], machine: 0, requestID: RequestID(client: 3, sequence: sequence), nowMillis: now)
            for output in try replica.processReady() {
                stamps += output.applied.compactMap { decodeUInt64($0.result) }
            }
        }
        #expect(stamps == [1000, 1000, 1200])
        #expect(replica.highestTimestampMillis == 1200)
    }
}
