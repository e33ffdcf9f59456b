import Foundation
import NakshaProtocol
import NakshaTestSupport
import Synchronization
import Testing

/// The client protocol against real processes (issue 17): three coordinators and a worker on
/// loopback, the Swift client through a leader kill, the Python client built from the same
/// .proto files, and 10,000 idle connections that must not disturb anyone else.
@Suite(.serialized) struct ClientProtocolProcessTests {
    typealias Cluster = CoordinatorProcessTests.ProcessCluster

    static func client(_ cluster: Cluster, servers: [String]? = nil) throws -> NakshaClient {
        try NakshaClient(NakshaClient.Configuration(servers: servers ?? cluster.clientAddresses, defaultTimeout: .seconds(30)))
    }

    static func submit(_ client: NakshaClient, _ graph: String, key: String) async throws -> UInt64 {
        var request = Naksha_V1_SubmitJobRequest()
        request.graph = graph
        request.idempotencyKey = key
        return try await client.submitJob(request).jobID
    }

    @Test("a job submitted and watched over the protocol survives the leader's kill -9: every event once, in order, ending succeeded; bad requests get typed statuses")
    func submitAndWatchThroughLeaderKill() async throws {
        let (cluster, workers) = try await WorkerProcessTests.start(workers: 1, leaseMillis: 1500)
        defer { workers.stopAll(); cluster.stopAll() }
        // The client talks to the leader first, so killing the leader drops the watch's own
        // connection: the watch must resume on a survivor.
        let leader = try #require(await JobQueueProcessTests.leader(cluster))
        let ordered = [cluster.client(leader)] + cluster.clientPorts.keys.sorted().filter { $0 != leader }.map(cluster.client)
        let client = try Self.client(cluster, servers: ordered)
        defer { Task { await client.close() } }

        let id = try await Self.submit(client, "napper", key: "watch-1")
        // A follower forwards to the leader: the same key through a follower is the same job.
        let follower = try #require(cluster.clientPorts.keys.sorted().first { $0 != leader })
        let viaFollower = try Self.client(cluster, servers: [cluster.client(follower)])
        defer { Task { await viaFollower.close() } }
        #expect(try await Self.submit(viaFollower, "napper", key: "watch-1") == id, "the same idempotency key is the same job")
        #expect(try await viaFollower.getJob(id).graph == "napper", "a follower reads the job")
        var events: [Naksha_V1_JobEvent] = []
        var killed: UInt64? = nil
        for try await event in client.watchJob(id) {
            events.append(event)
            let leased = event.changes.contains { if case .task(let task) = $0.change { return task.state == .leased } else { return false } }
            if leased, killed == nil {
                cluster.kill9(leader)
                killed = leader
            }
        }
        #expect(killed != nil, "the test killed the leader while the task ran")
        let ids = events.map(\.eventID)
        #expect(ids == ids.sorted() && Set(ids).count == ids.count, "no event twice, none out of order: \(ids)")
        let last = try #require(events.last?.changes.last?.change)
        #expect(last == .status(.succeeded), "the stream ends with the event that finishes the job: \(events)")
        let job = try await client.getJob(id)
        #expect(job.status == .succeeded)
        #expect(JobTextLike.state(job)["done"] as? String == "rested")

        // Typed statuses for bad requests, served by a survivor.
        do {
            _ = try await client.getJob(987_654)
            Issue.record("unknown job answered")
        } catch let error as RPCError {
            #expect(error.code == .notFound && error.reason == "unknownJob")
        }
        var bad = Naksha_V1_SubmitJobRequest()
        bad.graph = "napper"
        bad.inputJson = "[1, 2"
        do {
            _ = try await client.submitJob(bad)
            Issue.record("malformed input accepted")
        } catch let error as RPCError {
            #expect(error.code == .invalidArgument && error.reason == "invalidInput", "\(error)")
        }
        var conflict = Naksha_V1_SubmitJobRequest()
        conflict.graph = "pipeline"
        conflict.idempotencyKey = "watch-1"
        do {
            _ = try await client.submitJob(conflict)
            Issue.record("an idempotency key reused for another request was accepted")
        } catch let error as RPCError {
            #expect(error.code == .alreadyExists && error.reason == "idempotencyConflict", "\(error)")
        }
        let listed = try await client.listJobs(Naksha_V1_ListJobsRequest())
        #expect(listed.jobs.contains { $0.id == id })
        let status = try await client.clusterStatus()
        #expect(status.leader != 0 && status.leader != killed, "a new leader was elected: \(status)")
    }

    @Test("a subgraph node runs as a child job on real processes: the parent waits, the child runs on a worker, the parent takes its output")
    func subgraphRunsAsChildJob() async throws {
        let (cluster, workers) = try await WorkerProcessTests.start(workers: 1)
        defer { workers.stopAll(); cluster.stopAll() }
        let client = try Self.client(cluster)
        defer { Task { await client.close() } }
        var request = Naksha_V1_SubmitJobRequest()
        request.graph = "sub_parent"
        request.inputJson = #"{"name": "Ada"}"#
        let id = try await client.submitJob(request).jobID
        for try await _ in client.watchJob(id) {}
        let parent = try await client.getJob(id)
        #expect(parent.status == .succeeded, "\(parent)")
        #expect(JobTextLike.state(parent)["greeting"] as? String == "Hello from the child, Ada")
        let childID = try #require(parent.tasks.first?.childJobID)
        #expect(childID > id)
        let child = try await client.getJob(childID)
        #expect(child.graph == "sub_child" && child.status == .succeeded && child.parentTaskID == "\(id).1")
        #expect(child.tasks.first?.state == .succeeded && child.tasks.first?.startedMs ?? 0 > 0, "the child's task was leased and ran")
    }

    @Test("a collection's shards are placed on the workers, two replicas each, and a killed worker's replicas are placed elsewhere once it expires")
    func shardMapFollowsWorkers() async throws {
        let postgres = try PostgresServer.start()
        defer { postgres.stop() }
        let (cluster, workers) = try await VectorProcessTests.start(postgres: postgres, workers: ["w1": [:], "w2": [:], "w3": [:]])
        defer { workers.stopAll(); cluster.stopAll() }
        let client = try Self.client(cluster)
        defer { Task { await client.close() } }
        var request = Naksha_V1_CreateCollectionRequest()
        request.name = "papers"
        request.dimension = 8
        request.metric = "l2"
        request.index = "flat"
        request.shards = 4
        request.replicas = 2
        let created = try await client.createCollection(request)
        #expect(created.created && created.shards == 4)
        #expect(try await client.createCollection(request).created == false, "the same shape again is the same collection")
        request.metric = "manhattan"
        do {
            _ = try await client.createCollection(request)
            Issue.record("an unknown metric was accepted")
        } catch let error as RPCError {
            #expect(error.code == .invalidArgument, "\(error)")
        }
        let before = try await client.listShards()
        #expect(before.shards.count == 4 && before.shards.allSatisfy { $0.workers.count == 2 && !$0.underReplicated }, "\(before)")
        #expect(before.workers.map(\.replicas).sorted() == [2, 3, 3], "8 replicas over 3 workers: \(before.workers)")
        workers.kill9("w1")
        // Expired after three lease durations without a heartbeat; its replicas move.
        let moved = await CoordinatorProcessTests.waitUntil(timeout: .seconds(30)) {
            guard let map = try? await client.listShards() else { return false }
            return map.shards.allSatisfy { $0.workers.count == 2 && !$0.workers.contains("w1") }
        }
        #expect(moved, "w1's replicas were placed on w2 and w3")
        let after = try await client.listShards()
        #expect(after.epoch > before.epoch)
        let dropped = try await client.dropCollection("papers")
        #expect(dropped.epoch > after.epoch)
        #expect(try await client.listCollections().collections.isEmpty)
    }

    @Test("the Python client, built from the same .proto files, submits and watches a job on a three-node cluster")
    func pythonClientInterop() async throws {
        let (cluster, workers) = try await WorkerProcessTests.start(workers: 1)
        defer { workers.stopAll(); cluster.stopAll() }
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "\(repository)/clients/python/naksha_client.py", "--server", cluster.clientAddresses.joined(separator: ","),
            "submit", "pipeline", "--input", #"{"name": "Grace"}"#,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("TASK_STATE_SUCCEEDED"), "task events arrived: \(text)")
        let last = try #require(text.split(separator: "\n").last.map(String.init))
        let result = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], "\(text)")
        #expect(result["status"] as? String == "JOB_STATUS_SUCCEEDED")
        let greeting = (result["state"] as? [String: Any])?["greeting"] as? String ?? ""
        #expect(greeting.contains("Hello Grace"), "the job's state came back through the protocol: \(text)")
        // The same job, read by the Swift client: both speak the same protocol.
        let id = try #require((text.split(separator: "\n").first { $0.hasPrefix("job ") }?.split(separator: " ")[1]).flatMap { UInt64($0) })
        let client = try Self.client(cluster)
        defer { Task { await client.close() } }
        #expect(try await client.getJob(id).status == .succeeded)
    }

    @Test("with API tokens configured, a call without a token or with a wrong one is UNAUTHENTICATED, and one with a token is served")
    func apiTokensApplyToTheProtocol() async throws {
        let cluster = try Cluster(nodes: 1)
        defer { cluster.stopAll() }
        let tokens = "\(cluster.directory)/tokens"
        try "0123456789abcdef0123\n".write(toFile: tokens, atomically: true, encoding: .utf8)
        try cluster.start(1, extraArguments: ["--api-tokens-file", tokens])
        #expect(await CoordinatorProcessTests.waitForReady(cluster, [1]))
        for token in [nil, "wrong-token-wrong-token"] {
            let client = try NakshaClient(NakshaClient.Configuration(servers: [cluster.client(1)], token: token))
            defer { Task { await client.close() } }
            do {
                _ = try await client.listGraphs()
                Issue.record("served without a valid token (\(token ?? "none"))")
            } catch let error as RPCError {
                #expect(error.code == .unauthenticated, "\(error)")
            }
        }
        let client = try NakshaClient(NakshaClient.Configuration(servers: [cluster.client(1)], token: "0123456789abcdef0123"))
        defer { Task { await client.close() } }
        // Coordinators register graphs/ just after they start: wait for it.
        #expect(await CoordinatorProcessTests.waitUntil { (try? await client.listGraphs().graphs.contains { $0.name == "sample_rag" }) == true })
    }

    @Test("10,000 idle connections to one coordinator: calls on another connection are still answered, and the coordinator keeps running")
    func tenThousandIdleConnections() async throws {
        let cluster = try Cluster()
        defer { cluster.stopAll() }
        try cluster.startAll()
        #expect(await CoordinatorProcessTests.waitForReady(cluster, [1, 2, 3]))
        let port = try #require(cluster.clientPorts[1])
        var sockets: [Int32] = []
        defer { for fd in sockets { close(fd) } }
        for _ in 0..<10_000 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { break }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if connected != 0 {
                close(fd)
                break
            }
            sockets.append(fd)
        }
        #expect(sockets.count == 10_000, "opened \(sockets.count) connections")
        let client = try Self.client(cluster, servers: [cluster.client(1)])
        defer { Task { await client.close() } }
        let started = ContinuousClock.now
        let health = try await client.health(timeout: .seconds(20))
        #expect(health.nodeID == 1 && health.status == .serving, "\(health)")
        let status = try await client.clusterStatus(timeout: .seconds(20))
        #expect(status.leader != 0 && status.members.count == 3, "\(status)")
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(cluster.processes[1]?.isRunning == true)
    }
}

/// Reads a job's state JSON in tests.
enum JobTextLike {
    static func state(_ job: Naksha_V1_Job) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(job.stateJson.utf8))) as? [String: Any] ?? [:]
    }
}
