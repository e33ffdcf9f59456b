import NakshaCore
import Testing
@testable import NakshaStore

@Suite("vectors: COPY, sequences, tombstones (real Postgres)")
struct VectorStoreTests {
    /// Random bit patterns, NaN payloads, ±0, infinities and subnormals included.
    static func randomVectors(count: Int, dimension: Int, shards: Int, seed: UInt64) -> [VectorRecord] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { index in
            let vector = [Float](unsafeUninitializedCapacity: dimension) { buffer, initialized in
                var element = 0
                while element < dimension {
                    let bits = generator.next()
                    buffer[element] = Float(bitPattern: UInt32(truncatingIfNeeded: bits))
                    if element + 1 < dimension { buffer[element + 1] = Float(bitPattern: UInt32(truncatingIfNeeded: bits >> 32)) }
                    element += 2
                }
                initialized = dimension
            }
            return VectorRecord(
                id: "v\(index)", shard: index % shards, vector: vector,
                metadataJSON: index % 10 == 0 ? "{\"n\": \(index)}" : nil)
        }
    }

    @Test func copyOf100000VectorsOfDimension384ComesBackBitForBit() async throws {
        let store = try await Fixtures.migratedStore("copy_100k")
        let shards = 4
        try await store.createCollection(VectorCollection(name: "big", dimension: 384, metric: "cosine", shardCount: shards))
        let vectors = Self.randomVectors(count: 100_000, dimension: 384, shards: shards, seed: 42)
        let highest = try await store.upsertVectors(vectors, into: "big")
        #expect(highest == [0: 25_000, 1: 25_000, 2: 25_000, 3: 25_000])
        var mismatches = 0
        var total = 0
        for shard in 0..<shards {
            let changes = try await store.vectorChanges(collection: "big", shard: shard, afterSequence: 0, limit: nil)
            total += changes.count
            #expect(changes.map(\.sequence) == Array(1...25_000))
            for (offset, change) in changes.enumerated() {
                let original = vectors[offset * shards + shard]
                if change.id != original.id || !Self.sameBits(change.vector, original.vector)
                    || change.isDeleted || (change.metadataJSON == nil) != (original.metadataJSON == nil) {
                    mismatches += 1
                }
            }
        }
        #expect(total == 100_000)
        #expect(mismatches == 0)
        await store.shutdown()
    }

    /// Bitwise equality (NaN payloads included), unlike `==` on floats.
    static func sameBits(_ lhs: [Float], _ rhs: [Float]) -> Bool {
        lhs.count == rhs.count && lhs.withUnsafeBytes { left in rhs.withUnsafeBytes { right in left.elementsEqual(right) } }
    }

    @Test func changesAfterASequenceSeeUpdatesAndTombstonesInOrder() async throws {
        let store = try await Fixtures.migratedStore("changes")
        try await store.createCollection(VectorCollection(name: "c", dimension: 2, metric: "l2", shardCount: 2))
        try await store.upsertVectors([
            VectorRecord(id: "a", shard: 0, vector: [1, 1]), VectorRecord(id: "b", shard: 0, vector: [2, 2]),
            VectorRecord(id: "c", shard: 1, vector: [3, 3]),
        ], into: "c")
        let afterFirst = try await store.upsertVectors([VectorRecord(id: "a", shard: 0, vector: [9, 9], metadataJSON: "{\"x\": 1}")], into: "c")
        #expect(afterFirst == [0: 3])
        #expect(try await store.deleteVectors(ids: ["b", "nope"], from: "c") == [0: 4])
        let all = try await store.vectorChanges(collection: "c", shard: 0, afterSequence: 0, limit: nil)
        #expect(all.map(\.id) == ["a", "b"])
        #expect(all.map(\.sequence) == [3, 4])
        #expect(all[0].vector == [9, 9] && all[0].metadataJSON == "{\"x\": 1}")
        #expect(all[1].isDeleted && all[1].vector.isEmpty)
        let tail = try await store.vectorChanges(collection: "c", shard: 0, afterSequence: 3, limit: nil)
        #expect(tail.map(\.id) == ["b"])
        #expect(try await store.vectorChanges(collection: "c", shard: 0, afterSequence: 0, limit: 1).map(\.id) == ["a"])
        #expect(try await store.vectorChanges(collection: "c", shard: 1, afterSequence: 0, limit: nil).map(\.sequence) == [1])
        await store.shutdown()
    }

    @Test func concurrentWritersGetDistinctIncreasingSequencesPerShard() async throws {
        let store = try await Fixtures.migratedStore("seq_concurrent", maxConnections: 4)
        try await store.createCollection(VectorCollection(name: "c", dimension: 1, metric: "l2", shardCount: 2))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    for batch in 0..<5 {
                        let records = (0..<10).map { VectorRecord(id: "w\(writer)-\(batch)-\($0)", shard: $0 % 2, vector: [Float($0)]) }
                        try await store.upsertVectors(records, into: "c")
                    }
                }
            }
            try await group.waitForAll()
        }
        for shard in 0..<2 {
            let sequences = try await store.vectorChanges(collection: "c", shard: shard, afterSequence: 0, limit: nil).map(\.sequence)
            #expect(sequences == Array(1...100))
        }
        await store.shutdown()
    }

    @Test func badBatchesAreRejectedWithInvalidInputBeforeWriting() async throws {
        let store = try await Fixtures.migratedStore("bad_batch")
        try await store.createCollection(VectorCollection(name: "c", dimension: 3, metric: "l2", shardCount: 2))
        let cases: [([VectorRecord], StoreError.Code)] = [
            ([VectorRecord(id: "a", shard: 0, vector: [1, 2])], .invalidInput),
            ([VectorRecord(id: "a", shard: 2, vector: [1, 2, 3])], .invalidInput),
            ([VectorRecord(id: "a", shard: 0, vector: [1, 2, 3]), VectorRecord(id: "a", shard: 0, vector: [1, 2, 3])], .invalidInput),
        ]
        for (batch, code) in cases {
            do {
                try await store.upsertVectors(batch, into: "c")
                Issue.record("expected \(code)")
            } catch {
                #expect(error.code == code)
            }
        }
        do {
            try await store.upsertVectors([VectorRecord(id: "a", shard: 0, vector: [1])], into: "missing")
            Issue.record("expected notFound")
        } catch {
            #expect(error.code == .notFound)
        }
        do {
            try await store.upsertVectors([VectorRecord(id: "a", shard: 0, vector: [1, 2, 3], metadataJSON: "{not json")], into: "c")
            Issue.record("expected serverError")
        } catch {
            #expect(error.code == .serverError)
            #expect(error.sqlState == "22P02")
        }
        #expect(try await store.vectorChanges(collection: "c", shard: 0, afterSequence: 0, limit: nil).isEmpty)
        await store.shutdown()
    }
}
