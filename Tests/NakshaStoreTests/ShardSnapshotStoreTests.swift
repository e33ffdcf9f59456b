import NakshaCore
import Testing
@testable import NakshaStore

@Suite("shard snapshots (real Postgres)")
struct ShardSnapshotStoreTests {
    /// Small chunks, so a multi-chunk snapshot costs the tests little (the store's own is 16 MiB).
    static let chunk = 4_096

    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
    }

    @Test func aSnapshotLargerThanOneChunkComesBackByteForByte() async throws {
        let store = try await Fixtures.migratedStore("snapshot_roundtrip")
        try await store.createCollection(VectorCollection(name: "c", dimension: 4, metric: "cosine", shardCount: 2))
        #expect(try await store.shardSnapshot(collection: "c", shard: 0) == nil)
        let payload = Self.bytes(Self.chunk * 2 + 123, seed: 1)
        let saved = ShardSnapshot(collection: "c", shard: 1, sequence: 40, format: "test-v1", bytes: payload)
        #expect(try await store.saveShardSnapshot(saved, chunkBytes: Self.chunk))
        #expect(try await store.shardSnapshot(collection: "c", shard: 1) == saved)
        #expect(try await store.shardSnapshot(collection: "c", shard: 0) == nil)
        #expect(try await store.testQuery("SELECT count(*) FROM naksha_shard_snapshot_chunks") == ["3"])
        await store.shutdown()
    }

    @Test func onlyANewerSequenceReplacesASavedSnapshot() async throws {
        let store = try await Fixtures.migratedStore("snapshot_newest")
        try await store.createCollection(VectorCollection(name: "c", dimension: 4, metric: "cosine", shardCount: 1))
        let first = ShardSnapshot(collection: "c", shard: 0, sequence: 10, format: "f", bytes: Self.bytes(100, seed: 2))
        let older = ShardSnapshot(collection: "c", shard: 0, sequence: 9, format: "f", bytes: Self.bytes(50, seed: 3))
        let same = ShardSnapshot(collection: "c", shard: 0, sequence: 10, format: "f", bytes: Self.bytes(70, seed: 4))
        let newer = ShardSnapshot(collection: "c", shard: 0, sequence: 11, format: "f", bytes: Self.bytes(30, seed: 5))
        #expect(try await store.saveShardSnapshot(first))
        #expect(try await store.saveShardSnapshot(older) == false)
        #expect(try await store.saveShardSnapshot(same) == false)
        #expect(try await store.shardSnapshot(collection: "c", shard: 0) == first)
        #expect(try await store.saveShardSnapshot(newer))
        #expect(try await store.shardSnapshot(collection: "c", shard: 0) == newer)
        // Another generation (the collection dropped and created again) replaces it, even lower.
        let recreated = ShardSnapshot(collection: "c", shard: 0, sequence: 2, generation: 77, format: "f", bytes: Self.bytes(20, seed: 7))
        #expect(try await store.saveShardSnapshot(recreated))
        #expect(try await store.shardSnapshot(collection: "c", shard: 0) == recreated)
        #expect(try await store.testQuery("SELECT count(*) FROM naksha_shard_snapshot_chunks") == ["1"])
        await store.shutdown()
    }

    @Test func droppingTheCollectionDropsItsSnapshotsAndSavingToAnUnknownOneFails() async throws {
        let store = try await Fixtures.migratedStore("snapshot_drop")
        try await store.createCollection(VectorCollection(name: "c", dimension: 4, metric: "cosine", shardCount: 1))
        try await store.saveShardSnapshot(ShardSnapshot(collection: "c", shard: 0, sequence: 1, format: "f", bytes: [1, 2, 3]))
        #expect(try await store.dropCollection(named: "c"))
        #expect(try await store.testQuery("SELECT count(*) FROM naksha_shard_snapshot_chunks") == ["0"])
        await #expect(throws: StoreError.self) {
            try await store.saveShardSnapshot(ShardSnapshot(collection: "c", shard: 0, sequence: 2, format: "f", bytes: [1]))
        }
        try await store.createCollection(VectorCollection(name: "c", dimension: 4, metric: "cosine", shardCount: 1))
        #expect(try await store.shardSnapshot(collection: "c", shard: 0) == nil)
        await store.shutdown()
    }

    @Test func aMissingChunkIsReportedNotReturnedShort() async throws {
        let store = try await Fixtures.migratedStore("snapshot_damaged")
        try await store.createCollection(VectorCollection(name: "c", dimension: 4, metric: "cosine", shardCount: 1))
        try await store.saveShardSnapshot(
            ShardSnapshot(collection: "c", shard: 0, sequence: 1, format: "f", bytes: Self.bytes(Self.chunk + 5, seed: 6)), chunkBytes: Self.chunk)
        _ = try await store.testQuery("DELETE FROM naksha_shard_snapshot_chunks WHERE ordinal = 0")
        await #expect(throws: StoreError.self) { try await store.shardSnapshot(collection: "c", shard: 0) }
        await store.shutdown()
    }
}
