import Logging
import NakshaClusterAPI
import NakshaCore
import NakshaState
import NakshaStore
import NakshaTestSupport
import NakshaVector
import Testing
@testable import NakshaWorker

/// A worker's replicas: saved HNSW graphs (snapshots) and reads served while a replica is written.
@Suite struct ShardReplicaTests {
    static let spec = CollectionSpec(name: "docs", dimension: 16, metric: .cosine, index: .hnsw, shards: 1, replicas: 1)

    static func changes(_ count: Int, from first: Int = 0, seed: UInt64, sequenceBase: Int64 = 0) -> [VectorChange] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { i in
            let vector = (0..<spec.dimension).map { _ in Float(generator.next() % 2_000) / 1_000 - 1 }
            return VectorChange(
                id: "v\(first + i)", shard: 0, sequence: sequenceBase + Int64(i + 1), vector: vector,
                metadataJSON: #"{"metadata": {"group": \#((first + i) % 3)}, "document": {"text": "chunk \#(first + i)"}}"#, isDeleted: false)
        }
    }

    static func queries(seed: UInt64) -> [[Float]] {
        var generator = SeededGenerator(seed: seed)
        return (0..<20).map { _ in (0..<spec.dimension).map { _ in Float(generator.next() % 2_000) / 1_000 - 1 } }
    }

    @Test("a replica loaded from its snapshot answers like the saved one, before and after more changes, with payloads")
    func snapshotRoundTrip() throws {
        var replica = try ShardReplica(spec: Self.spec, shard: 0)
        #expect(replica.apply(Self.changes(500, seed: 1)).isEmpty)
        _ = replica.apply([VectorChange(id: "v7", shard: 0, sequence: 501, vector: [], metadataJSON: nil, isDeleted: true)])
        let bytes = try #require(replica.snapshotBytes())
        var loaded = try ShardReplica(spec: Self.spec, shard: 0, snapshot: bytes)
        #expect(loaded.appliedSequence == 501)
        #expect(loaded.count == 499)
        let filter = MetadataFilter.equals("group", .int(1))
        for query in Self.queries(seed: 2) {
            #expect(try loaded.search(query, k: 10, filter: nil) == (try replica.search(query, k: 10, filter: nil)))
            #expect(try loaded.search(query, k: 5, filter: filter) == (try replica.search(query, k: 5, filter: filter)))
        }
        let more = Self.changes(100, from: 1_000, seed: 3, sequenceBase: 501)
        _ = replica.apply(more)
        _ = loaded.apply(more)
        for query in Self.queries(seed: 4) {
            #expect(try loaded.search(query, k: 10, filter: nil) == (try replica.search(query, k: 10, filter: nil)))
        }
        #expect(loaded.snapshotBytes() == replica.snapshotBytes())
    }

    @Test("a damaged snapshot or one of another shape is rejected, never loaded")
    func damagedSnapshotsAreRejected() throws {
        var replica = try ShardReplica(spec: Self.spec, shard: 0)
        _ = replica.apply(Self.changes(50, seed: 5))
        let bytes = try #require(replica.snapshotBytes())
        for position in [0, 10, bytes.count / 2, bytes.count - 1] {
            var damaged = bytes
            damaged[position] ^= 0x40
            #expect(throws: VectorError.self) { try ShardReplica(spec: Self.spec, shard: 0, snapshot: damaged) }
        }
        #expect(throws: VectorError.self) { try ShardReplica(spec: Self.spec, shard: 0, snapshot: Array(bytes.prefix(bytes.count - 9))) }
        var otherShape = Self.spec
        otherShape.dimension = 8
        #expect(throws: VectorError.self) { try ShardReplica(spec: otherShape, shard: 0, snapshot: bytes) }
        #expect(throws: VectorError.self) { try ShardReplica(spec: Self.spec, shard: 1, snapshot: bytes) }
        let flat = try ShardReplica(spec: CollectionSpec(name: "f", dimension: 16, metric: .cosine, index: .flat, shards: 1, replicas: 1), shard: 0)
        #expect(flat.snapshotBytes() == nil)
    }

    @Test("searches answer while a large batch is applied, each at a whole-change state between the first and last sequence")
    func readsInterleaveWithWrites() async throws {
        let served = ServedReplica(try ShardReplica(spec: Self.spec, shard: 0))
        let batch = Self.changes(ServedReplica.applySlice * 8, seed: 6)
        let query = Self.queries(seed: 7)[0]
        let writer = Task { await served.apply(batch) }
        // Wait for the first slice, then search until the batch is in.
        while served.appliedSequence == 0 { await Task.yield() }
        var seen: [Int64] = []
        while true {
            let (hits, sequence) = try served.search(query, k: 5, filter: nil)
            #expect(hits.count == min(5, Int(sequence)), "a search sees whole changes: \(sequence) applied, \(hits.count) hits")
            seen.append(sequence)
            if sequence == Int64(batch.count) { break }
            await Task.yield()
        }
        #expect(await writer.value.isEmpty)
        #expect(seen == seen.sorted(), "the applied sequence only grows")
        #expect(seen.contains { $0 > 0 && $0 < Int64(batch.count) }, "some search ran between two slices of the batch: \(seen.prefix(5))…")
        #expect(seen.allSatisfy { $0 % Int64(ServedReplica.applySlice) == 0 }, "a search never sees half a slice")
    }

    // MARK: Through the cold store

    static func server(_ store: PostgresColdStore, _ name: String) -> ShardServer {
        ShardServer(worker: WorkerID(rawValue: name), memoryBudgetBytes: 1 << 30, coldStore: store, logger: Logger(label: "test.\(name)"))
    }

    static func ready(_ server: ShardServer) async -> Bool {
        await CoordinatorProcessTests.waitUntil(timeout: .seconds(60)) {
            (try? await server.status().replicas.first?.state) == .ready
        }
    }

    static func psql(_ postgres: PostgresServer, _ sql: String) throws {
        try PostgresServer.run("/usr/bin/psql", [postgres.url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
    }

    @Test("a built HNSW replica is saved; the next load starts from the snapshot plus later changes; a damaged snapshot is rejected and rebuilt from the vectors")
    func loadsFromTheSavedSnapshot() async throws {
        let postgres = try PostgresServer.start()
        defer { postgres.stop() }
        let store = PostgresColdStore(configuration: try PostgresConfiguration.fromEnvironment(["DATABASE_URL": postgres.url]))
        _ = try await store.migrate()
        try await store.createCollection(VectorCollection(name: "docs", dimension: 16, metric: "cosine", shardCount: 1))
        let first = Self.changes(300, seed: 8)
        try await store.upsertVectors(first.map { VectorRecord(id: $0.id, shard: 0, vector: $0.vector, metadataJSON: $0.metadataJSON) }, into: "docs")
        let assignment = ShardAssignments(epoch: 1, shards: [AssignedShard(spec: Self.spec, shard: 0)])

        let builder = Self.server(store, "w1")
        await builder.apply(assignment)
        #expect(await Self.ready(builder))
        let saved = await CoordinatorProcessTests.waitUntil(timeout: .seconds(30)) {
            (try? await store.shardSnapshot(collection: "docs", shard: 0))?.sequence == 300
        }
        #expect(saved, "the built replica was saved at its applied sequence")

        // Behind the store's back: v0 leaves the rows but not the snapshot, so a replica
        // loaded from the snapshot still holds it and one built from rows does not.
        try Self.psql(postgres, "DELETE FROM naksha_vectors WHERE id = 'v0'")
        let later = Self.changes(20, from: 300, seed: 9)
        try await store.upsertVectors(later.map { VectorRecord(id: $0.id, shard: 0, vector: $0.vector, metadataJSON: $0.metadataJSON) }, into: "docs")
        let target = Self.server(store, "w2")
        await target.apply(assignment)
        #expect(await Self.ready(target))
        let status = try #require(try await target.status().replicas.first)
        #expect(status.vectors == 320, "300 from the snapshot (v0 included) + 20 later changes")
        #expect(status.appliedSequence == 320)
        let own = try await target.search(ShardSearchRequest(collection: "docs", shard: 0, vector: first[0].vector, k: 1))
        #expect(own.hits.first?.id == "v0", "v0 came from the snapshot, not the rows")
        let newest = try await target.search(ShardSearchRequest(collection: "docs", shard: 0, vector: later[19].vector, k: 1))
        #expect(newest.hits.first?.id == "v319")

        // One flipped byte in the saved graph: rejected by its checksum, built from the rows.
        try Self.psql(postgres, "UPDATE naksha_shard_snapshot_chunks SET bytes = set_byte(bytes, 1000, get_byte(bytes, 1000) # 1)")
        let rebuilt = Self.server(store, "w3")
        await rebuilt.apply(assignment)
        #expect(await Self.ready(rebuilt))
        #expect(try await rebuilt.status().replicas.first?.vectors == 319, "built from the rows, which no longer hold v0")
        await store.shutdown()
    }
}
