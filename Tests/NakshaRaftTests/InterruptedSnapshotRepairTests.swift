import Foundation
import NakshaCore
import NakshaRaft
import RaftCore
import Synchronization
import Testing

/// The repair `load` makes when a snapshot file is durable but its log marker is not (the
/// node stopped between the two): it writes the marker, dropping a stale suffix if there is
/// one. The repair's own write can be torn — its sync fails, the start fails, and a crash
/// keeps any prefix of it — and it runs again at the next start. Whatever prefix survives,
/// no entry that was synced before may be lost. (Found by the simulator, seed 2238 with the
/// leader replicating while it persists: the old repair wrote an install marker followed by
/// every kept entry again, and a tear after the marker lost the entries not yet re-written.)
@Suite struct InterruptedSnapshotRepairTests {
    static let membership = Membership(voters: [1, 2, 3])

    static func entries(term: UInt64, _ range: ClosedRange<UInt64>) -> [LogEntry] {
        range.map { LogEntry(term: term, index: $0, payload: .command(Array("t\(term)-i\($0)".utf8))) }
    }

    /// A log of `log` synced with its hard state, and a snapshot at 20 (term 3) whose file
    /// is durable but whose marker was never written.
    static func interruptedSnapshot(in directory: String, log: [LogEntry]) throws {
        let storage = try RaftStorage(directory: directory)
        try storage.bootstrap(membership, joining: false)
        try storage.persist(entries: log, hardState: HardState(term: 3, vote: 1, commit: 20))
        let taken = Snapshot(metadata: SnapshotMetadata(index: 20, term: 3, membership: membership), data: Array("state@20".utf8))
        try RaftStorage.write(taken, to: storage.snapshots)
    }

    /// The bytes the repair appends to the log, measured on an untorn run.
    static func repairBytes(log: [LogEntry]) throws -> Int {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try interruptedSnapshot(in: directory, log: log)
        let recorder = TearingFileSystem(keepBytes: nil)
        _ = try RaftStorage(directory: directory, fileSystem: recorder).load()
        return recorder.walBytesWritten.load(ordering: .relaxed)
    }

    static let cases: [(name: String, log: [LogEntry], expected: [LogEntry])] = [
        ("no stale suffix", entries(term: 3, 1...30), entries(term: 3, 21...30)),
        ("a stale suffix after the kept entries", entries(term: 3, 1...26) + entries(term: 2, 27...30), entries(term: 3, 21...26)),
        ("only stale entries after the snapshot", entries(term: 3, 1...20) + entries(term: 2, 21...24), []),
    ]

    @Test("a repair torn at any byte, then a clean start, keeps every synced entry", arguments: 0..<3)
    func tornRepairLosesNothing(caseIndex: Int) throws {
        let (_, log, expected) = Self.cases[caseIndex]
        let total = try Self.repairBytes(log: log)
        #expect(total > 0, "the repair writes something")
        for keep in 0..<total {
            let directory = try makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try Self.interruptedSnapshot(in: directory, log: log)
            // The start whose repair write is torn after `keep` bytes and fails.
            #expect(throws: (any Error).self) {
                _ = try RaftStorage(directory: directory, fileSystem: TearingFileSystem(keepBytes: keep)).load()
            }
            // Two more starts: the first repairs again, the second reads the repaired log.
            for _ in 0..<2 {
                let loaded = try #require(try RaftStorage(directory: directory).load())
                #expect(loaded.state.snapshot.metadata.index == 20)
                #expect(loaded.state.entries == expected, "torn after \(keep) of \(total) bytes")
                #expect(loaded.state.hardState.term == 3)
            }
        }
    }

    @Test("repeating the repair (as a second load in the same start does) changes nothing", arguments: 0..<3)
    func repairIsIdempotent(caseIndex: Int) throws {
        let (_, log, expected) = Self.cases[caseIndex]
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.interruptedSnapshot(in: directory, log: log)
        let storage = try RaftStorage(directory: directory)
        for _ in 0..<3 { #expect(try storage.load()?.state.entries == expected) }
        #expect(try RaftStorage(directory: directory).load()?.state.entries == expected)
    }
}

/// POSIX, except that with `keepBytes` the first write to a log segment stores only that
/// many of its bytes and fails (as a torn write whose sync never happened); counts the bytes
/// written to log segments.
private final class TearingFileSystem: ForwardingFileSystem, @unchecked Sendable {
    let keepBytes: Int?
    let torn = Atomic<Bool>(false)
    let walBytesWritten = Atomic<Int>(0)

    init(keepBytes: Int?) { self.keepBytes = keepBytes }

    override func write(_ handle: FileHandleID, _ bytes: [UInt8], path: String) throws(WALError) {
        guard path.hasSuffix(".wal") else { return try inner.write(handle, bytes, path: path) }
        if let keepBytes, !torn.load(ordering: .relaxed) {
            torn.store(true, ordering: .relaxed)
            if keepBytes > 0 { try inner.write(handle, Array(bytes.prefix(keepBytes)), path: path) }
            throw WALError(.io, "write \(path): Input/output error (torn after \(keepBytes) bytes)")
        }
        walBytesWritten.add(bytes.count, ordering: .relaxed)
        try inner.write(handle, bytes, path: path)
    }
}
