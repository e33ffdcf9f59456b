import Foundation
import NakshaCore
import NakshaRaft
import Testing

func makeTemporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("naksha-wal-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func record(_ index: UInt64, size: Int = 40) -> WALRecord {
    WALRecord(type: 1, tag: index, payload: (0..<size).map { UInt8(truncatingIfNeeded: Int(index) &* 7 &+ $0) })
}

func segmentFiles(_ directory: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".wal") }.sorted()
}

func mutateFile(_ path: String, _ change: (inout [UInt8]) -> Void) throws {
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    change(&bytes)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

@Suite struct WriteAheadLogTests {
    @Test func appendedRecordsAreRecoveredInOrder() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let written = (1...100).map { record($0) }
        do {
            let log = try WriteAheadLog(directory: directory)
            try log.append(Array(written[0..<50]))
            try log.append(Array(written[50...]))
        }
        let reopened = try WriteAheadLog(directory: directory)
        #expect(reopened.recovered == written)
        #expect(reopened.recoveryReport == nil)
    }

    @Test func segmentsRotateAndEachStartsWithThePreamble() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let hardState = WALRecord(type: 9, tag: 0, payload: [1, 2, 3])
        do {
            let log = try WriteAheadLog(directory: directory, segmentSizeBytes: 1024)
            log.preamble = [hardState]
            for index in 1...60 { try log.append([record(UInt64(index))]) }
            #expect(log.segmentCount > 3)
            // Compaction: drop segments wholly below index 40.
            try log.removeSegments(withTagsBelow: 40)
        }
        let reopened = try WriteAheadLog(directory: directory, segmentSizeBytes: 1024)
        let entries = reopened.recovered.filter { $0.type == 1 }.map(\.tag)
        #expect(entries.last == 60)
        #expect(entries.first.map { $0 <= 40 } == true)
        #expect(entries == Array(entries.first!...60))
        // The hard state survives the deletion of the segments it was first written to.
        #expect(reopened.recovered.first == hardState)
    }

    @Test func tornTailFromATruncatedWriteIsCutAndLogged() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let log = try WriteAheadLog(directory: directory)
            try log.append((1...10).map { record($0) })
        }
        let path = "\(directory)/\(try segmentFiles(directory).last!)"
        try mutateFile(path) { $0.removeLast(20) }  // cut the last record in the middle
        let reopened = try WriteAheadLog(directory: directory)
        #expect(reopened.recovered == (1...9).map { record($0) })
        #expect(reopened.recoveryReport?.contains("truncated a torn record") == true)
        // New appends land after the cut and survive another restart.
        try reopened.append([record(10)])
        #expect(try WriteAheadLog(directory: directory).recovered == (1...10).map { record($0) })
    }

    @Test func flippedByteInTheLastRecordIsTreatedAsATornTail() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let log = try WriteAheadLog(directory: directory)
            try log.append((1...10).map { record($0) })
        }
        let path = "\(directory)/\(try segmentFiles(directory).last!)"
        try mutateFile(path) { $0[$0.count - 5] ^= 0xFF }
        let reopened = try WriteAheadLog(directory: directory)
        #expect(reopened.recovered == (1...9).map { record($0) })
        #expect(reopened.recoveryReport != nil)
    }

    @Test func flippedByteInAMiddleRecordRefusesToStartNamingFileAndOffset() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let log = try WriteAheadLog(directory: directory)
            try log.append((1...10).map { record($0) })
        }
        let name = try segmentFiles(directory).last!
        // Record 3 starts at 16 + 2 × (17 + 40) = 130; flip a payload byte of it.
        try mutateFile("\(directory)/\(name)") { $0[130 + 17 + 3] ^= 0x01 }
        do {
            _ = try WriteAheadLog(directory: directory)
            Issue.record("a corrupt middle record was accepted")
        } catch {
            #expect(error.code == .corruptRecord)
            #expect(error.message.contains(name))
            #expect(error.message.contains("offset 130"))
        }
    }

    @Test func recordOverTheLimitIsRefused() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try WriteAheadLog(directory: directory, maxRecordBytes: 100)
        #expect(throws: WALError.self) { try log.append([WALRecord(type: 1, tag: 1, payload: [UInt8](repeating: 0, count: 101))]) }
    }

    @Test func foreignFileInTheDirectoryIsABadHeader() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("this is not a wal segment at all".utf8).write(to: URL(fileURLWithPath: "\(directory)/0000000000000001.wal"))
        #expect(throws: WALError.self) { _ = try WriteAheadLog(directory: directory) }
    }
}

@Suite struct SnapshotStoreTests {
    @Test func snapshotRoundTripsAndOldOnesArePruned() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SnapshotStore(directory: directory, retain: 2)
        for index in [10, 20, 30] as [UInt64] {
            try store.save(StoredSnapshot(index: index, term: 2, data: Array(repeating: UInt8(index), count: 100_000)))
        }
        let (latest, skipped) = try store.latest()
        #expect(latest == StoredSnapshot(index: 30, term: 2, data: Array(repeating: 30, count: 100_000)))
        #expect(skipped.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".snap") }.count == 2)
    }

    @Test func damagedNewestSnapshotFallsBackToTheOlderOne() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SnapshotStore(directory: directory, retain: 2)
        try store.save(StoredSnapshot(index: 10, term: 1, data: Array("older".utf8)))
        try store.save(StoredSnapshot(index: 20, term: 1, data: Array("newer".utf8)))
        let newest = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".snap") }.sorted().last!
        try mutateFile("\(directory)/\(newest)") { $0[$0.count - 1] ^= 0x55 }
        let (latest, skipped) = try store.latest()
        #expect(latest?.index == 10)
        #expect(skipped.count == 1)
    }

    @Test func leftoverTemporaryFileIsIgnoredAndRemovedWhenTheStoreOpens() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: "\(directory)/snapshot-0000000000000063.snap.tmp"))
        let store = try SnapshotStore(directory: directory)
        #expect(try store.latest().snapshot == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }
}

extension ApplyContext {
    /// A context for applying a command directly in a test.
    static func test(index: UInt64, term: UInt64 = 1, timestampMillis: UInt64 = 0) -> ApplyContext {
        ApplyContext(index: index, term: term, timestampMillis: timestampMillis, requestID: RequestID(client: 1, sequence: index))
    }
}
