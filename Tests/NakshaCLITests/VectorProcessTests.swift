import Foundation
import NakshaCore
import NakshaProtocol
import NakshaTestSupport
import Synchronization
import Testing

/// Sharded vector serving on real processes (issue 18): three coordinators and three workers
/// with a real Postgres cold store; answers checked against a brute-force reference.
@Suite(.serialized) struct VectorProcessTests {
    typealias Cluster = CoordinatorProcessTests.ProcessCluster
    typealias Workers = WorkerProcessTests.Workers

    static let dimension = 16

    static func start(postgres: PostgresServer, workers: [String: [String: String]]) async throws -> (Cluster, Workers) {
        let cluster = try Cluster()
        let graphs = CLITests.repositoryRoot.appendingPathComponent("graphs").path
        for id in cluster.peerPorts.keys.sorted() {
            try cluster.start(id, extraArguments: ["--lease-duration", "1000", "--database-url", postgres.url, "--graphs-dir", graphs])
        }
        #expect(await CoordinatorProcessTests.waitForReady(cluster, [1, 2, 3]))
        let processes = Workers(cluster: cluster)
        for id in workers.keys.sorted() {
            try processes.start(id, environment: ["DATABASE_URL": postgres.url].merging(workers[id] ?? [:]) { $1 })
        }
        #expect(await processes.waitReady(), "the workers registered with the leader")
        return (cluster, processes)
    }

    static func send(_ cluster: Cluster, _ method: String, _ path: String, _ body: Any? = nil, node: UInt64 = 1) async -> (status: Int, json: [String: Any])? {
        let text = body.map { String(decoding: (try? JSONSerialization.data(withJSONObject: $0)) ?? Data(), as: UTF8.self) }
        return await JobQueueProcessTests.send(method, cluster.http(node), path, body: text, timeout: 15)
    }

    struct Point {
        var id: String
        var vector: [Float]
        var group: Int
    }

    static func points(_ count: Int, seed: UInt64, prefix: String = "v") -> [Point] {
        var random = SeededGenerator(seed: seed)
        return (0..<count).map { index in
            Point(id: "\(prefix)\(index)", vector: (0..<dimension).map { _ in Float.random(in: -1...1, using: &random) }, group: index % 4)
        }
    }

    /// The ids of the `k` nearest by squared L2, as the router orders them (score = −distance,
    /// higher first, then the smaller id).
    static func reference(_ points: [Point], _ query: [Float], k: Int, group: Int? = nil) -> [String] {
        var scored: [(id: String, score: Float)] = []
        for point in points where group == nil || point.group == group {
            var distance: Float = 0
            for index in 0..<query.count {
                let difference = point.vector[index] - query[index]
                distance += difference * difference
            }
            scored.append((point.id, -distance))
        }
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
        return scored.prefix(k).map(\.id)
    }

    static func upsert(_ cluster: Cluster, _ points: [Point], node: UInt64 = 1) async -> (status: Int, json: [String: Any])? {
        let vectors = points.map { point -> [String: Any] in
            ["id": point.id, "vector": point.vector.map(Double.init), "metadata": ["group": point.group], "document": ["text": "text of \(point.id)"]]
        }
        return await send(cluster, "POST", "/v1/vector/upsert", ["collection": "papers", "vectors": vectors], node: node)
    }

    static func query(_ cluster: Cluster, _ vector: [Float], k: Int = 10, extra: [String: Any] = [:], node: UInt64 = 1) async -> (status: Int, json: [String: Any])? {
        var body: [String: Any] = ["collection": "papers", "vector": vector.map(Double.init), "k": k]
        body.merge(extra) { $1 }
        return await send(cluster, "POST", "/v1/vector/query", body, node: node)
    }

    static func ids(_ answer: (status: Int, json: [String: Any])?) -> [String] {
        ((answer?.json["results"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
    }

    @Test("a 4 × 2 collection on three workers answers exact queries equal to brute force, with filters and read-your-writes; a killed worker's replicas answer meanwhile and are placed again; bad input gets typed errors")
    func shardedQueriesMatchBruteForceThroughAWorkerKill() async throws {
        let postgres = try PostgresServer.start()
        defer { postgres.stop() }
        let (cluster, workers) = try await Self.start(postgres: postgres, workers: ["w1": [:], "w2": [:], "w3": [:]])
        defer { workers.stopAll(); cluster.stopAll() }

        let created = await Self.send(
            cluster, "POST", "/v1/collections",
            ["name": "papers", "dimension": Self.dimension, "metric": "l2", "index": "flat", "shards": 4, "replicas": 2])
        #expect(created?.status == 201, "\(String(describing: created))")
        let points = Self.points(600, seed: 7)
        for batch in stride(from: 0, to: points.count, by: 200) {
            let answer = await Self.upsert(cluster, Array(points[batch..<(batch + 200)]), node: UInt64(batch / 200 % 3 + 1))
            #expect(answer?.status == 200 && answer?.json["upserted"] as? Int == 200, "\(String(describing: answer))")
        }

        // Read-your-writes (every acknowledged write): exact and complete on the first query.
        let queries = Self.points(12, seed: 99, prefix: "q").map(\.vector)
        for (position, vector) in queries.enumerated() {
            let answer = await Self.query(cluster, vector, extra: ["consistency": "read_your_writes"], node: UInt64(position % 3 + 1))
            #expect(answer?.status == 200, "\(String(describing: answer))")
            #expect(Self.ids(answer) == Self.reference(points, vector, k: 10))
            #expect(answer?.json["partial"] as? Bool == false && answer?.json["exact"] as? Bool == true)
        }
        let first = try #require((await Self.query(cluster, queries[0], k: 1, extra: ["consistency": "read_your_writes"]))?.json["results"] as? [[String: Any]])
        #expect((first.first?["document"] as? [String: Any])?["text"] as? String == "text of \(Self.reference(points, queries[0], k: 1)[0])")
        #expect((first.first?["metadata"] as? [String: Any])?["group"] != nil)

        // A batch: every query answered in one call, each equal to brute force; a large k
        // (Poisson bound and re-asking, per query) and a filter too; one bad vector refuses it.
        for (k, filter) in [(10, nil), (150, nil), (5, 3)] as [(Int, Int?)] {
            var body: [String: Any] = ["collection": "papers", "vectors": queries.map { $0.map(Double.init) }, "k": k, "consistency": "read_your_writes"]
            if let filter { body["filter"] = ["group": filter] }
            let batch = await Self.send(cluster, "POST", "/v1/vector/query", body, node: 2)
            let answers = (batch?.json["batch"] as? [[String: Any]]) ?? []
            #expect(answers.count == queries.count, "\(String(describing: batch))")
            for (vector, answer) in zip(queries, answers) {
                let ids = ((answer["results"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
                #expect(ids == Self.reference(points, vector, k: k, group: filter), "k \(k), filter \(String(describing: filter))")
                #expect(answer["partial"] as? Bool == false)
            }
        }
        let badBatch = await Self.send(cluster, "POST", "/v1/vector/query", ["collection": "papers", "vectors": [queries[0].map(Double.init), [1.0, 2.0]]])
        #expect(badBatch?.status == 422 && badBatch?.json["error"] as? String == "dimensionMismatch", "\(String(describing: badBatch))")

        // A filter keeps k results from the matching vectors only.
        let filtered = await Self.query(cluster, queries[1], k: 10, extra: ["filter": ["group": 2], "consistency": "read_your_writes"])
        #expect(Self.ids(filtered) == Self.reference(points, queries[1], k: 10, group: 2), "\(String(describing: filtered))")

        // An upsert is seen by the next read-your-writes query, given the upsert's sequences.
        let fresh = Point(id: "fresh", vector: queries[2], group: 0)
        let written = await Self.upsert(cluster, [fresh], node: 2)
        let sequences = try #require(written?.json["sequences"] as? [String: Any])
        let seen = await Self.query(cluster, queries[2], k: 1, extra: ["consistency": "read_your_writes", "after": sequences], node: 3)
        #expect(Self.ids(seen) == ["fresh"], "\(String(describing: seen))")
        let all = points + [fresh]

        // Bad input: typed errors, nothing written.
        #expect(await Self.query(cluster, [1, 2, 3])?.json["error"] as? String == "dimensionMismatch")
        #expect(await Self.send(cluster, "POST", "/v1/vector/query", ["collection": "nope", "vector": [1.0]])?.status == 404)
        #expect(await Self.query(cluster, queries[0], extra: ["filter": ["group": ["$bad": 1]]])?.status == 400)
        #expect(await Self.query(cluster, queries[0], k: 0)?.status == 422)
        #expect(await JobQueueProcessTests.send("POST", cluster.http(1), "/v1/vector/upsert", body: "{not json")?.status == 400)
        let ragged = await Self.send(cluster, "POST", "/v1/vector/upsert", ["collection": "papers", "vectors": [["id": "x", "vector": [1, 2]]]])
        #expect(ragged?.status == 422 && ragged?.json["error"] as? String == "dimensionMismatch")

        // A worker killed: every shard still has a live replica, so answers stay complete.
        workers.kill9("w1")
        for vector in queries.prefix(4) {
            let answer = await Self.query(cluster, vector)
            #expect(Self.ids(answer) == Self.reference(all, vector, k: 10) && answer?.json["partial"] as? Bool == false, "\(String(describing: answer))")
        }
        // Expired after three lease durations; its replicas are placed on w2 and w3, which
        // load them from the cold store.
        let client = try ClientProtocolProcessTests.client(cluster)
        defer { Task { await client.close() } }
        let replaced = await CoordinatorProcessTests.waitUntil(timeout: .seconds(30)) {
            guard let map = try? await client.listShards() else { return false }
            return map.shards.allSatisfy { $0.workers.count == 2 && !$0.workers.contains("w1") }
        }
        #expect(replaced)
        for vector in queries.suffix(4) {
            let answer = await Self.query(cluster, vector, extra: ["consistency": "read_your_writes"])
            #expect(Self.ids(answer) == Self.reference(all, vector, k: 10) && answer?.json["exact"] as? Bool == true, "\(String(describing: answer))")
        }

        // Deletes are seen by read-your-writes too; a drop removes the collection.
        let nearest = Self.reference(all, queries[3], k: 1)[0]
        #expect(await Self.send(cluster, "POST", "/v1/vector/delete", ["collection": "papers", "ids": [nearest]])?.json["deleted"] as? Int == 1)
        let afterDelete = await Self.query(cluster, queries[3], extra: ["consistency": "read_your_writes"])
        #expect(Self.ids(afterDelete) == Self.reference(all.filter { $0.id != nearest }, queries[3], k: 10))
        #expect(await Self.send(cluster, "DELETE", "/v1/collections/papers")?.status == 200)
        #expect(await Self.query(cluster, queries[0])?.status == 404)
    }

    @Test("a replica over the worker's memory budget is refused and counted, the worker stays up, queries say they are partial, and the map places the replica on a worker with room when one joins")
    func memoryBudgetRefusesAReplica() async throws {
        let postgres = try PostgresServer.start()
        defer { postgres.stop() }
        let (cluster, workers) = try await Self.start(postgres: postgres, workers: ["w1": ["NAKSHA_MEMORY_BUDGET": "64K"]])
        defer { workers.stopAll(); cluster.stopAll() }
        let created = await Self.send(
            cluster, "POST", "/v1/collections", ["name": "papers", "dimension": Self.dimension, "metric": "l2", "index": "flat", "shards": 1, "replicas": 1])
        #expect(created?.status == 201)
        let points = Self.points(2000, seed: 3)
        for batch in stride(from: 0, to: points.count, by: 500) {
            #expect(await Self.upsert(cluster, Array(points[batch..<(batch + 500)]))?.status == 200, "the cold store takes every write")
        }
        var answer: (status: Int, json: [String: Any])?
        let partial = await CoordinatorProcessTests.waitUntil(timeout: .seconds(20)) {
            answer = await Self.query(cluster, points[0].vector, extra: ["timeout_ms": 1000])
            return answer?.json["partial"] as? Bool == true
        }
        #expect(partial, "\(String(describing: answer))")
        #expect(answer?.status == 200 && answer?.json["missing_shards"] as? [Int] == [0])
        let metrics = await CoordinatorProcessTests.get(workers.http("w1"), "/metrics")
        let text = metrics.map { String(decoding: $0.body, as: UTF8.self) } ?? ""
        #expect(text.contains("naksha_worker_shard_refusals_total{reason=\"memory_budget\"} 1"), "\(text.prefix(2000))")
        #expect(await CoordinatorProcessTests.get(workers.http("w1"), "/healthz")?.status == 200, "the worker is still up")
        #expect(workers.log("w1").contains("shard replica refused"))

        // The refusal reached the map: the replica left w1, and a worker with room that joins
        // receives it (no move from w1 is needed), so queries become complete again.
        let client = try ClientProtocolProcessTests.client(cluster)
        defer { Task { await client.close() } }
        let refused = await CoordinatorProcessTests.waitUntil(timeout: .seconds(20)) {
            (try? await client.listShards(collection: "papers"))?.shards.first?.refusedBy == ["w1"]
        }
        #expect(refused, "the map records w1's refusal")
        try workers.start("w2", environment: ["DATABASE_URL": postgres.url])
        let complete = await CoordinatorProcessTests.waitUntil(timeout: .seconds(30)) {
            answer = await Self.query(cluster, points[0].vector, extra: ["timeout_ms": 1000])
            return answer?.json["partial"] as? Bool == false
        }
        #expect(complete, "\(String(describing: answer))")
        #expect(Self.ids(answer) == Self.reference(points, points[0].vector, k: 10))
        #expect(try await client.listShards(collection: "papers").shards.first?.workers == ["w2"])
        let listing = await Self.cli(["shards", "list", "--server", cluster.clientAddresses.joined(separator: ",")])
        #expect(listing.output.contains("refused by w1"), "\(listing.output)")
    }

    /// Runs the CLI on its own thread (it blocks reading the child's output).
    static func cli(_ arguments: [String]) async -> (status: Int32, output: String) {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                do {
                    continuation.resume(returning: try CLITests.naksha(arguments))
                } catch {
                    continuation.resume(returning: (-1, "\(error)"))
                }
            }
        }
    }

    @Test("a fourth worker joins and shards move to it under query load: no query misses an answer, the map settles balanced, and the CLI shows it")
    func aJoiningWorkerReceivesShardsWithoutMissedAnswers() async throws {
        let postgres = try PostgresServer.start()
        defer { postgres.stop() }
        let (cluster, workers) = try await Self.start(postgres: postgres, workers: ["w1": [:], "w2": [:], "w3": [:]])
        defer { workers.stopAll(); cluster.stopAll() }
        let servers = cluster.clientAddresses.joined(separator: ",")
        let created = await Self.cli(
            ["collection", "create", "papers", "--dimension", "\(Self.dimension)", "--metric", "l2", "--index", "flat", "--shards", "4", "--replicas", "2", "--server", servers])
        #expect(created.status == 0, "\(created.output)")
        let points = Self.points(400, seed: 11)
        for batch in stride(from: 0, to: points.count, by: 200) {
            #expect(await Self.upsert(cluster, Array(points[batch..<(batch + 200)]))?.status == 200)
        }
        let queries = Self.points(6, seed: 5, prefix: "q").map(\.vector)
        let expected = queries.map { Self.reference(points, $0, k: 10) }
        for (vector, ids) in zip(queries, expected) {
            #expect(Self.ids(await Self.query(cluster, vector, extra: ["consistency": "read_your_writes"])) == ids)
        }

        // Queries run the whole time the fourth worker joins and its shards move.
        let stop = Atomic<Bool>(false)
        let load = Task { () -> (queries: Int, misses: [String]) in
            var count = 0
            var misses: [String] = []
            while !stop.load(ordering: .relaxed) {
                let position = count % queries.count
                let answer = await Self.query(cluster, queries[position], node: UInt64(count % 3 + 1))
                if Self.ids(answer) != expected[position] || answer?.json["partial"] as? Bool != false {
                    misses.append("\(String(describing: answer))")
                }
                count += 1
            }
            return (count, misses)
        }
        try workers.start("w4", environment: ["DATABASE_URL": postgres.url])
        let client = try ClientProtocolProcessTests.client(cluster)
        defer { Task { await client.close() } }
        let settled = await CoordinatorProcessTests.waitUntil(timeout: .seconds(60)) {
            guard let map = try? await client.listShards() else { return false }
            return map.shards.allSatisfy { $0.movingTo.isEmpty && $0.workers.count == 2 }
                && map.workers.map(\.replicas).sorted() == [2, 2, 2, 2]
                && map.workers.allSatisfy { $0.reachable && $0.ready == $0.replicas && $0.draining == 0 }
        }
        #expect(settled, "w4 received two replicas and every move finished")
        // A few more rounds against the settled map, then stop.
        let settledAt = await Self.countQueries(cluster, queries[0], expected[0], rounds: 6)
        stop.store(true, ordering: .relaxed)
        let (count, misses) = await load.value
        #expect(settledAt == 6)
        #expect(misses.isEmpty, "\(misses.count) of \(count) queries missed an answer: \(misses.prefix(3))")
        #expect(count >= 10, "the load ran through the moves (\(count) queries)")

        let listing = await Self.cli(["shards", "list", "--server", servers])
        #expect(listing.status == 0 && listing.output.contains("w4"), "\(listing.output)")
        let plan = await Self.cli(["shards", "rebalance", "--dry-run", "--server", servers])
        #expect(plan.status == 0 && plan.output.contains("balanced: no move needed"), "\(plan.output)")
        let query = await Self.cli(
            ["query", "--collection", "papers", "--vector", queries[0].map { "\($0)" }.joined(separator: ","), "--k", "3", "--server", servers])
        #expect(query.status == 0 && query.output.contains(expected[0][0]) && query.output.contains("exact"), "\(query.output)")
        let wrong = await Self.cli(["query", "--collection", "papers", "--vector", "1,2", "--server", servers])
        #expect(wrong.status != 0 && wrong.output.contains("dimensions"), "\(wrong.output)")
    }

    @Test("a move's target hangs, is killed and restarted in the middle of the move: the move completes or rolls back, no replica is lost, the restarted worker loads the saved graph, and queries answer complete throughout")
    func workerRestartedInTheMiddleOfAMove() async throws {
        let postgres = try PostgresServer.start()
        defer { postgres.stop() }
        let names = ["w1", "w2", "w3"]
        let (cluster, workers) = try await Self.start(postgres: postgres, workers: Dictionary(uniqueKeysWithValues: names.map { ($0, [:]) }))
        defer { workers.stopAll(); cluster.stopAll() }
        let created = await Self.send(
            cluster, "POST", "/v1/collections", ["name": "papers", "dimension": Self.dimension, "metric": "l2", "index": "hnsw", "shards": 2, "replicas": 2])
        #expect(created?.status == 201, "\(String(describing: created))")
        let points = Self.points(400, seed: 21)
        for batch in stride(from: 0, to: points.count, by: 200) {
            #expect(await Self.upsert(cluster, Array(points[batch..<(batch + 200)]))?.status == 200)
        }
        let queries = Self.points(6, seed: 22, prefix: "q").map(\.vector)
        var expected: [[String]] = []
        for vector in queries {
            let answer = await Self.query(cluster, vector, extra: ["consistency": "read_your_writes"])
            #expect(answer?.json["partial"] as? Bool == false)
            expected.append(Self.ids(answer))
        }
        #expect(expected.allSatisfy { $0.count == 10 })
        // Both shards' built graphs are saved (one save per shard; the second replica finds it saved).
        let saved = await CoordinatorProcessTests.waitUntil(timeout: .seconds(30)) {
            names.map { workers.log($0).components(separatedBy: "\"shard snapshot saved\"").count - 1 }.reduce(0, +) >= 2
        }
        #expect(saved, "the built HNSW replicas were saved")

        let client = try ClientProtocolProcessTests.client(cluster)
        defer { Task { await client.close() } }
        let before = try await client.listShards(collection: "papers")
        let shard = try #require(before.shards.first { $0.shard == 0 })
        let target = try #require(names.first { !shard.workers.contains($0) })
        workers.send(SIGSTOP, to: target)
        var move = Naksha_V1_MoveShardRequest()
        move.collection = "papers"
        move.shard = 0
        move.from = shard.workers[0]
        move.to = target
        _ = try await client.moveShard(move)
        #expect(try await client.listShards(collection: "papers").shards.first { $0.shard == 0 }?.movingTo == target)

        // The target hangs: queries still answer complete (a replica it holds is hedged).
        for (vector, ids) in zip(queries, expected) {
            let answer = await Self.query(cluster, vector)
            #expect(Self.ids(answer) == ids && answer?.json["partial"] as? Bool == false, "\(String(describing: answer))")
        }
        workers.kill9(target)
        try workers.start(target, environment: ["DATABASE_URL": postgres.url])
        let settled = await CoordinatorProcessTests.waitUntil(timeout: .seconds(90)) {
            guard let map = try? await client.listShards(collection: "papers") else { return false }
            return map.shards.count == 2 && map.shards.allSatisfy { $0.movingTo.isEmpty && $0.workers.count == 2 }
                && map.workers.count == 3 && map.workers.allSatisfy { $0.reachable && $0.ready == $0.replicas && $0.draining == 0 }
        }
        let map = try await client.listShards(collection: "papers")
        #expect(settled, "every shard has both replicas serving and no move open: \(map)")
        #expect(map.workers.map(\.replicas).reduce(0, +) == 4, "no replica lost")
        for (vector, ids) in zip(queries, expected) {
            let answer = await Self.query(cluster, vector)
            #expect(Self.ids(answer) == ids && answer?.json["partial"] as? Bool == false, "\(String(describing: answer))")
        }
        #expect(workers.log(target).contains("shard snapshot loaded"), "the restarted worker loaded a saved graph instead of rebuilding it")
    }

    @Test("text instead of a vector: the coordinator embeds upserted and queried text (HTTP, protocol, CLI), keeps it as the document, and refuses a bad model or a dimension mismatch")
    func textIsEmbeddedByTheRouter() async throws {
        let postgres = try PostgresServer.start()
        defer { postgres.stop() }
        let (cluster, workers) = try await Self.start(postgres: postgres, workers: ["w1": [:], "w2": [:]])
        defer { workers.stopAll(); cluster.stopAll() }
        let created = await Self.send(
            cluster, "POST", "/v1/collections", ["name": "notes", "dimension": 384, "metric": "cosine", "index": "flat", "shards": 2, "replicas": 1])
        #expect(created?.status == 201, "\(String(describing: created))")
        let texts = [
            "n1": "Leases are renewed by worker heartbeats to the leader.",
            "n2": "Postgres keeps the durable copy of every vector.",
            "n3": "The shard map lives in the Raft log and moves replicas between workers.",
        ]
        let items = texts.keys.sorted().map { ["id": $0, "text": texts[$0]!, "metadata": ["kind": "note"]] as [String: Any] }
        let upserted = await Self.send(cluster, "POST", "/v1/vector/upsert", ["collection": "notes", "vectors": items])
        #expect(upserted?.status == 200 && upserted?.json["upserted"] as? Int == 3, "\(String(describing: upserted))")

        let answer = await Self.send(
            cluster, "POST", "/v1/vector/query", ["collection": "notes", "text": "Where is the durable copy of every vector kept?", "k": 3, "consistency": "read_your_writes"],
            node: 2)
        let results = (answer?.json["results"] as? [[String: Any]]) ?? []
        #expect(results.first?["id"] as? String == "n2", "\(String(describing: answer))")
        #expect((results.first?["document"] as? [String: Any])?["text"] as? String == texts["n2"], "the text is kept as the document")

        let servers = cluster.clientAddresses.joined(separator: ",")
        let cli = await Self.cli(["query", "--collection", "notes", "--text", "heartbeats renew leases", "--k", "1", "--server", servers])
        #expect(cli.status == 0 && cli.output.contains("n1"), "\(cli.output)")

        // A batch of texts over the binary protocol: one answer per text, in order.
        let client = try ClientProtocolProcessTests.client(cluster)
        defer { Task { await client.close() } }
        var batch = Naksha_V1_QueryVectorsRequest()
        batch.collection = "notes"
        batch.texts = ["the durable copy of every vector", "heartbeats renew leases", "the shard map in the Raft log"]
        batch.k = 1
        let answers = try await client.queryVectors(batch)
        #expect(answers.batch.map { $0.results.first?.id ?? "" } == ["n2", "n1", "n3"], "\(answers)")

        let badModel = await Self.send(cluster, "POST", "/v1/vector/query", ["collection": "notes", "text": "x", "model": "offline-extractive"])
        #expect(badModel?.status == 422 && badModel?.json["error"] as? String == "invalidInput", "a chat model cannot embed: \(String(describing: badModel))")
        let unknown = await Self.send(cluster, "POST", "/v1/vector/query", ["collection": "nope", "text": "x"])
        #expect(unknown?.status == 404, "an unknown collection is refused before embedding: \(String(describing: unknown))")
        let hugeBatch = await Self.send(cluster, "POST", "/v1/vector/query", ["collection": "notes", "k": 10_000, "vectors": Array(repeating: [Double](repeating: 0.1, count: 384), count: 11)])
        #expect(hugeBatch?.status == 413, "queries × k over the limit: \(String(describing: hugeBatch))")
        let otherDimension = await Self.send(cluster, "POST", "/v1/vector/query", ["collection": "notes", "text": "x", "model": "offline-hash-64"])
        #expect(otherDimension?.status == 422 && otherDimension?.json["error"] as? String == "dimensionMismatch", "\(String(describing: otherDimension))")
        let empty = await Self.send(cluster, "POST", "/v1/vector/upsert", ["collection": "notes", "vectors": [["id": "n4", "text": ""]]])
        #expect(empty?.status == 422, "\(String(describing: empty))")
    }

    /// Queries `rounds` times and counts the exact, complete answers.
    static func countQueries(_ cluster: Cluster, _ vector: [Float], _ expected: [String], rounds: Int) async -> Int {
        var good = 0
        for round in 0..<rounds {
            let answer = await query(cluster, vector, node: UInt64(round % 3 + 1))
            if ids(answer) == expected && answer?.json["partial"] as? Bool == false { good += 1 }
        }
        return good
    }

    static let upsertThenQuery = """
        name: upsert_then_query
        version: 1
        maxSteps: 4
        state:
          collection: { type: string, default: papers }
          vectors: list
          ids: list
          payloads: list
          query: list
          stored: { type: int, default: 0 }
          hits: { type: list, default: [] }
        nodes:
          store:
            type: vector.upsert
            params: { collection: "{{ state.collection }}", vectors: state.vectors, ids: state.ids, payloads: state.payloads }
            writes: [stored]
          find:
            type: vector.query
            params: { collection: "{{ state.collection }}", vector: state.query, topK: 2 }
            writes: [hits]
        edges:
          - { from: START, to: store }
          - { from: store, to: find }
          - { from: find, to: END }
        """

    @Test("vector.upsert then vector.query in one job on a sharded collection: the query sees the upsert, and the vectors are in the shards")
    func graphNodesUseTheShardedCollection() async throws {
        let postgres = try PostgresServer.start()
        defer { postgres.stop() }
        let (cluster, workers) = try await Self.start(postgres: postgres, workers: ["w1": [:], "w2": [:]])
        defer { workers.stopAll(); cluster.stopAll() }
        let created = await Self.send(
            cluster, "POST", "/v1/collections", ["name": "papers", "dimension": 4, "metric": "cosine", "index": "flat", "shards": 2, "replicas": 2])
        #expect(created?.status == 201)
        let registered = await JobQueueProcessTests.send("POST", cluster.http(1), "/v1/graphs", body: Self.upsertThenQuery)
        #expect(registered?.status == 201, "\(String(describing: registered))")
        let input: [String: Any] = [
            "vectors": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], "ids": ["n1", "n2", "n3"],
            "payloads": [["text": "one", "lang": "en"], ["text": "two", "lang": "fr"], "three"], "query": [0.9, 0.1, 0, 0],
        ]
        let body = String(decoding: try JSONSerialization.data(withJSONObject: ["graph": "upsert_then_query", "input": input]), as: UTF8.self)
        let id = try await WorkerProcessTests.submit(cluster, body)
        let job = try #require(await WorkerProcessTests.job(cluster, id) { WorkerProcessTests.status($0) == "succeeded" || WorkerProcessTests.status($0) == "failed" })
        let state = try #require(job["state"] as? [String: Any], "\(job)")
        #expect(state["stored"] as? Int == 3, "\(job)")
        let hits = try #require(state["hits"] as? [[String: Any]], "\(job)")
        #expect(hits.map { $0["id"] as? String } == ["n1", "n2"], "\(hits)")
        #expect(hits.first?["text"] as? String == "one" && hits.first?["lang"] as? String == "en", "payload fields come back: \(hits)")
        // The sharded collection holds them, with filters on the payload's fields.
        let filtered = await Self.send(
            cluster, "POST", "/v1/vector/query", ["collection": "papers", "vector": [0.9, 0.1, 0, 0], "k": 3, "filter": ["lang": "fr"]])
        #expect(Self.ids(filtered) == ["n2"], "\(String(describing: filtered))")
        let plain = await Self.send(cluster, "POST", "/v1/vector/query", ["collection": "papers", "vector": [0, 0, 1, 0], "k": 1])
        let third = try #require((plain?.json["results"] as? [[String: Any]])?.first)
        #expect(third["id"] as? String == "n3" && third["document"] as? String == "three", "a non-map payload is the document: \(third)")
    }

    /// Vectors in the workers' serving replicas, as `ListShards` reports them.
    static func storedVectors(_ client: NakshaClient) async -> UInt64 {
        guard let map = try? await client.listShards() else { return 0 }
        return map.workers.reduce(0) { $0 + $1.vectors }
    }

    @Test("naksha ingest reads a JSONL file and SQL rows (read-only) into a sharded collection; a rerun skips what is stored; bad sources are refused")
    func ingestFromJSONLAndSQL() async throws {
        let postgres = try PostgresServer.start()
        defer { postgres.stop() }
        let (cluster, workers) = try await Self.start(postgres: postgres, workers: ["w1": [:], "w2": [:]])
        defer { workers.stopAll(); cluster.stopAll() }
        let servers = cluster.clientAddresses.joined(separator: ",")
        // ingest_chunks embeds offline with 384 dimensions.
        let created = await Self.cli(["collection", "create", "kb", "--dimension", "384", "--index", "flat", "--shards", "2", "--replicas", "1", "--server", servers])
        #expect(created.status == 0, "\(created.output)")
        let client = try ClientProtocolProcessTests.client(cluster)
        defer { Task { await client.close() } }

        let directory = try CoordinatorProcessTests.ProcessCluster.temporaryDirectory()
        let file = "\(directory)/articles.jsonl"
        let lines = (1...5).map { #"{"id": "a\#($0)", "title": "Article \#($0)", "text": "Workers serve shard \#($0). Replicas answer when a worker dies."}"# }
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let first = await Self.cli(["ingest", "--jsonl", file, "--collection", "kb", "--server", servers])
        #expect(first.status == 0 && first.output.contains("vectors/s"), "\(first.output)")
        let stored = await CoordinatorProcessTests.waitUntil(timeout: .seconds(20)) { await Self.storedVectors(client) == 5 }
        #expect(stored, "five chunks in the shards")
        let again = await Self.cli(["ingest", "--jsonl", file, "--collection", "kb", "--server", servers])
        #expect(again.status == 0 && again.output.contains("skipped 5 already stored"), "\(again.output)")

        try PostgresServer.run("/usr/bin/psql", [postgres.url, "-v", "ON_ERROR_STOP=1", "-c",
            "CREATE TABLE notes (id text, body text, url text); INSERT INTO notes VALUES ('n1', 'Raft keeps the shard map.', 'https://x/1'), ('n2', 'Postgres keeps the vectors.', 'https://x/2')"])
        let rows = await Self.cli(["ingest", "--sql", "SELECT id, body, url FROM notes", "--database-url", postgres.url, "--collection", "kb", "--server", servers])
        #expect(rows.status == 0, "\(rows.output)")
        let all = await CoordinatorProcessTests.waitUntil(timeout: .seconds(20)) { await Self.storedVectors(client) == 7 }
        let count = await Self.storedVectors(client)
        #expect(all, "two more chunks from the rows: \(rows.output), \(count) stored")
        let writing = await Self.cli(["ingest", "--sql", "DELETE FROM notes RETURNING id, body", "--database-url", postgres.url, "--server", servers])
        #expect(writing.status != 0 && writing.output.contains("read-only"), "the query runs read-only: \(writing.output)")
        let bad = "\(directory)/bad.jsonl"
        try "{\"id\": \"x\"}\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let refused = await Self.cli(["ingest", "--jsonl", bad, "--server", servers])
        #expect(refused.status != 0 && refused.output.contains("bad.jsonl:1"), "\(refused.output)")
        let two = await Self.cli(["ingest", "--jsonl", file, "--sql", "SELECT 1", "--server", servers])
        #expect(two.status != 0 && two.output.contains("one source"), "\(two.output)")
    }
}
