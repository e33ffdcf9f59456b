import ArgumentParser
import Foundation
import NakshaCore
import NakshaProtocol
import NakshaStore

/// `naksha bench vectors`: the serving half of issue 18's benchmark, against a running
/// cluster (`benchmarks/peers/vector-serving.sh` starts one and runs Milvus Lite in the same
/// rounds). `--phase load` creates the collection and upserts `base.f32` over the protocol,
/// then waits until the workers serve every vector; `--phase query` runs one pass: every
/// query of `queries.f32` by `--concurrency` callers spread over the coordinators
/// (queries/s), then `--single` queries one at a time (latency), and recall@k against
/// `truth.i32`; `--phase move` moves shard 0 of the collection to a worker that does not hold
/// it and times it until the target serves it (with `--database-url`, it first waits until
/// the shard's HNSW snapshot is saved, so the move loads the saved graph). Prints one JSON line.
struct VectorBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vectors", abstract: "Scatter-gather query throughput, latency and recall on a running cluster (see benchmarks/README.md).")

    @Option(help: "load, query or move.") var phase: String
    @Option(help: "Where base.f32, queries.f32 and truth.i32 are (benchmarks/peers/vector_serving.py gen).") var dir = "/tmp/naksha-vector-serving"
    @Option(help: "Vector dimension.") var dimension = 384
    @Option(help: "The collection.") var collection = "bench"
    @Option(help: "Shards (load).") var shards: UInt32 = 8
    @Option(help: "Replicas (load).") var replicas: UInt32 = 1
    @Option(help: "flat, hnsw or int8 (load).") var index = "flat"
    @Option(help: "Results per query.") var k = 10
    @Option(help: "Concurrent callers (query).") var concurrency = 8
    @Option(help: "Queries per call (query): 1 asks one query per call; more sends batches, as Milvus's batched search.") var batch = 1
    @Option(help: "One-at-a-time queries timed for latency (query).") var single = 200
    @Option(help: "The cluster's Postgres (move): wait until shard 0's snapshot is saved before moving it.") var databaseURL: String?
    @OptionGroup var connection: ClientOptions

    static func floats(_ path: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return data.withUnsafeBytes { raw in Array(raw.bindMemory(to: Float.self)) }
    }

    func run() async throws {
        try await runClient {
            switch phase {
            case "load": try await load()
            case "query": try await query()
            case "move": try await move()
            default: throw CLIError("--phase is load, query or move")
            }
        }
    }

    private func load() async throws {
        let base = try Self.floats("\(dir)/base.f32")
        let count = base.count / dimension
        let client = try connection.client(timeout: .seconds(120))
        defer { Task { await client.close() } }
        _ = try? await client.dropCollection(collection)  // a previous run's collection, if any
        var create = Naksha_V1_CreateCollectionRequest()
        create.name = collection
        create.dimension = UInt32(dimension)
        create.metric = "l2"
        create.index = index
        create.shards = shards
        create.replicas = replicas
        _ = try await client.createCollection(create)
        let started = ContinuousClock.now
        let batch = max(1, (3 << 20) / (dimension * 4 + 32))  // under the 4 MiB request limit
        for start in stride(from: 0, to: count, by: batch) {
            var request = Naksha_V1_UpsertVectorsRequest()
            request.collection = collection
            request.vectors = (start..<min(start + batch, count)).map { row in
                var record = Naksha_V1_VectorRecord()
                record.id = "\(row)"
                record.vector = Array(base[(row * dimension)..<((row + 1) * dimension)])
                return record
            }
            _ = try await client.upsertVectors(request)
        }
        let written = (ContinuousClock.now - started).inSeconds
        while true {
            let map = try await client.listShards(collection: collection)
            let served = map.workers.reduce(UInt64(0)) { $0 + $1.vectors }
            if served >= UInt64(count) * UInt64(replicas), map.shards.allSatisfy({ $0.movingTo.isEmpty }) { break }
            guard ContinuousClock.now - started < .seconds(1800) else { throw CLIError("the workers serve \(served) of \(count) vectors after 30 minutes") }
            try await Task.sleep(for: .milliseconds(500))
        }
        let object: [String: Any] = [
            "phase": "load", "vectors": count, "write_seconds": (written * 10).rounded() / 10,
            "served_seconds": ((ContinuousClock.now - started).inSeconds * 10).rounded() / 10, "shards": shards, "replicas": replicas, "index": index,
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
    }

    private func move() async throws {
        let client = try connection.client(timeout: .seconds(60))
        defer { Task { await client.close() } }
        let waitStarted = ContinuousClock.now
        var snapshotBytes = 0
        var changesAfterSnapshot: Int64 = 0
        if let databaseURL {
            let store = PostgresColdStore(configuration: try PostgresConfiguration.fromEnvironment(["DATABASE_URL": databaseURL]))
            defer { Task { await store.shutdown() } }
            while true {
                // A saved graph must exist, so the move loads it. A worker saves the graph it
                // built from rows once, at the sequence it had then; writes that arrived during
                // the build are applied on top by every later load (reported as
                // `changes_after_snapshot`), until a quarter of the shard changed and it saves again.
                let name = collection.replacingOccurrences(of: "'", with: "''")
                let rows = try await store.readOnlyRows(
                    "SELECT s.byte_count, q.last_sequence - s.sequence FROM naksha_shard_snapshots s JOIN naksha_shard_sequences q USING (collection, shard) "
                        + "WHERE s.collection = '\(name)' AND s.shard = 0")
                if let row = rows.rows.first, let bytes = row.first.flatMap({ $0 }).flatMap({ Int($0) }) {
                    snapshotBytes = bytes
                    changesAfterSnapshot = row.dropFirst().first.flatMap({ $0 }).flatMap({ Int64($0) }) ?? 0
                    break
                }
                guard ContinuousClock.now - waitStarted < .seconds(600) else { throw CLIError("no snapshot of shard 0 after 10 minutes") }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
        let map = try await client.listShards(collection: collection)
        guard let placed = map.shards.first(where: { $0.shard == 0 }), let from = placed.workers.first,
              // Not a worker still draining the shard from an earlier move: it would take it back at once.
              let to = map.workers.filter({ !placed.workers.contains($0.worker) }).sorted(by: { ($0.draining, $0.worker) < ($1.draining, $1.worker) }).first?.worker
        else { throw CLIError("shard 0 of \(collection) has no replica, or every worker holds one") }
        var request = Naksha_V1_MoveShardRequest()
        request.collection = collection
        request.shard = 0
        request.from = from
        request.to = to
        let started = ContinuousClock.now
        _ = try await client.moveShard(request)
        while true {
            let now = try await client.listShards(collection: collection)
            if let shard = now.shards.first(where: { $0.shard == 0 }), shard.movingTo.isEmpty, shard.workers.contains(to) { break }
            guard ContinuousClock.now - started < .seconds(1800) else { throw CLIError("the move did not finish in 30 minutes") }
            try await Task.sleep(for: .milliseconds(100))
        }
        let object: [String: Any] = [
            "phase": "move", "collection": collection, "shard": 0, "from": from, "to": to, "snapshot_bytes": snapshotBytes,
            "changes_after_snapshot": changesAfterSnapshot,
            "move_seconds": ((ContinuousClock.now - started).inSeconds * 100).rounded() / 100,
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
    }

    private func query() async throws {
        let queries = try Self.floats("\(dir)/queries.f32")
        let truthData = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/truth.i32"))
        let truth = truthData.withUnsafeBytes { raw in Array(raw.bindMemory(to: Int32.self)) }
        let count = queries.count / dimension
        let truthWidth = truth.count / max(count, 1)
        let clients = try connection.servers.map { server in
            try NakshaClient(NakshaClient.Configuration(servers: [server], defaultTimeout: .seconds(30)))
        }
        defer { for client in clients { Task { await client.close() } } }
        guard !clients.isEmpty else { throw CLIError("--server names no coordinator") }
        let k = self.k
        let batch = max(1, self.batch)
        let dimension = self.dimension
        let collection = self.collection
        func request(_ row: Int) -> Naksha_V1_QueryVectorsRequest {
            var request = Naksha_V1_QueryVectorsRequest()
            request.collection = collection
            request.vector = Array(queries[(row * dimension)..<((row + 1) * dimension)])
            request.k = UInt32(k)
            return request
        }
        _ = try await clients[0].queryVectors(request(0))  // warm
        let next = NextIndex()
        let started = ContinuousClock.now
        let results = try await withThrowingTaskGroup(of: [(Int, [String], Bool)].self) { group in
            for caller in 0..<concurrency {
                let client = clients[caller % clients.count]
                group.addTask {
                    var found: [(Int, [String], Bool)] = []
                    while let rows = await next.take(batch, below: count) {
                        if rows.count == 1 {
                            let answer = try await client.queryVectors(request(rows.lowerBound))
                            found.append((rows.lowerBound, answer.results.map(\.id), answer.partial))
                            continue
                        }
                        var batched = request(rows.lowerBound)
                        batched.vector = []
                        batched.batch = rows.map { row in
                            var query = Naksha_V1_QueryVector()
                            query.vector = Array(queries[(row * dimension)..<((row + 1) * dimension)])
                            return query
                        }
                        let answer = try await client.queryVectors(batched)
                        for (row, result) in zip(rows, answer.batch) { found.append((row, result.results.map(\.id), result.partial)) }
                    }
                    return found
                }
            }
            var all: [(Int, [String], Bool)] = []
            for try await part in group { all += part }
            return all
        }
        let seconds = (ContinuousClock.now - started).inSeconds
        var latencies: [Double] = []
        for row in 0..<min(single, count) {
            let begin = ContinuousClock.now
            _ = try await clients[row % clients.count].queryVectors(request(row))
            latencies.append((ContinuousClock.now - begin).inSeconds * 1000)
        }
        latencies.sort()
        var recall = 0.0
        for (row, ids, _) in results {
            let expected = Set(truth[(row * truthWidth)..<(row * truthWidth + min(k, truthWidth))].map { "\($0)" })
            recall += Double(Set(ids.prefix(k)).intersection(expected).count) / Double(max(expected.count, 1))
        }
        let object: [String: Any] = [
            "system": "naksha", "queries_per_s": (Double(count) / seconds * 10).rounded() / 10,
            "single_p50_ms": latencies.isEmpty ? 0 : (latencies[latencies.count / 2] * 100).rounded() / 100,
            "single_p99_ms": latencies.isEmpty ? 0 : (latencies[max(0, Int(Double(latencies.count) * 0.99) - 1)] * 100).rounded() / 100,
            "recall": (recall / Double(max(results.count, 1)) * 10_000).rounded() / 10_000,
            "partial": results.filter(\.2).count, "concurrency": concurrency, "batch": batch,
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
    }
}

/// Hands out query numbers to concurrent callers.
actor NextIndex {
    private var next = 0

    func take(below limit: Int) -> Int? {
        guard next < limit else { return nil }
        defer { next += 1 }
        return next
    }

    /// Up to `count` consecutive indexes below `limit`; nil when none are left.
    func take(_ count: Int, below limit: Int) -> Range<Int>? {
        guard next < limit else { return nil }
        let range = next..<min(limit, next + count)
        next = range.upperBound
        return range
    }
}
