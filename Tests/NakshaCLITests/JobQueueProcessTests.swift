import Distributed
import Foundation
import NakshaActors
import NakshaClusterAPI
import NakshaCore
import NakshaGraph
import NakshaState
import NakshaTestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The job queue with three real coordinator processes: the HTTP job API on every node, and
/// a scripted worker over the worker-facing remote interface (issue 15, item 6).
@Suite(.serialized) struct JobQueueProcessTests {
    typealias Cluster = CoordinatorProcessTests.ProcessCluster

    /// One graph, written where the coordinators read their graphs: a node that retries, so
    /// an expired lease makes it ready again (attempt 2) instead of dead-lettering it.
    static let summarizeGraph = """
        name: summarize
        version: 1
        state:
          text: string
          summary: string
        nodes:
          summarize:
            type: llm.chat
            params:
              prompt: "Summarize in two sentences: {{ state.text }}"
            writes: [summary]
            retry: { maxAttempts: 3, backoff: exponential, initialDelay: 100ms, maxDelay: 1s }
        edges:
          - from: START
            to: summarize
          - from: summarize
            to: END
        """

    static func send(
        _ method: String, _ server: String, _ path: String, body: String? = nil, token: String? = nil, timeout: TimeInterval = 5
    ) async -> (status: Int, json: [String: Any])? {
        guard let url = URL(string: "http://\(server)\(path)") else { return nil }
        var request = URLRequest(url: url)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        request.httpBody = body.map { Data($0.utf8) }
        request.timeoutInterval = timeout
        guard let (data, response) = try? await URLSession.shared.data(for: request), let http = response as? HTTPURLResponse else { return nil }
        return (http.statusCode, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
    }

    static func startCluster(leaseMillis: Int = 1000, tokensFile: String? = nil, databaseURL: String? = nil) async throws -> Cluster {
        let cluster = try Cluster()
        let graphs = "\(cluster.directory)/graphs"
        try FileManager.default.createDirectory(atPath: graphs, withIntermediateDirectories: true)
        try summarizeGraph.write(toFile: "\(graphs)/summarize.yaml", atomically: true, encoding: .utf8)
        for id in cluster.peerPorts.keys.sorted() {
            try cluster.start(
                id,
                extraArguments: ["--graphs-dir", graphs, "--lease-duration", "\(leaseMillis)"] + (tokensFile.map { ["--api-tokens-file", $0] } ?? [])
                    + (databaseURL.map { ["--database-url", $0] } ?? []))
        }
        #expect(await CoordinatorProcessTests.waitForReady(cluster, [1, 2, 3]))
        guard tokensFile == nil else { return cluster }
        // Every coordinator registered the same graphs; the registry holds one version.
        let registered = await CoordinatorProcessTests.waitUntil {
            guard let answer = await send("GET", cluster.http(1), "/v1/graphs/summarize/versions") else { return false }
            return answer.status == 200
        }
        #expect(registered, "the graphs in graphs/ were registered at start")
        return cluster
    }

    /// The leader's id, from any node's view.
    static func leader(_ cluster: Cluster) async -> UInt64? {
        for id in cluster.processes.keys.sorted() {
            if let leader = await CoordinatorProcessTests.cluster(cluster.http(id))?.leader { return leader }
        }
        return nil
    }

    @Test("a job submitted to a follower is readable from every node, and one idempotency key sent to two nodes gives one job")
    func submitToFollowerReadEverywhereIdempotent() async throws {
        let cluster = try await Self.startCluster()
        defer { cluster.stopAll() }
        let leaderID = try #require(await Self.leader(cluster))
        let followers = cluster.peerPorts.keys.sorted().filter { $0 != leaderID }
        let body = #"{"graph":"summarize","input":{"text":"Naksha is one binary."},"idempotency_key":"order-17"}"#
        let first = try #require(await Self.send("POST", cluster.http(followers[0]), "/v1/jobs", body: body))
        #expect(first.status == 202)
        let id = try #require(first.json["id"] as? String)
        let second = try #require(await Self.send("POST", cluster.http(followers[1]), "/v1/jobs", body: body))
        #expect(second.json["id"] as? String == id, "the same key on another node is the same job")
        #expect(second.json["existing"] as? Bool == true)
        for node in cluster.peerPorts.keys.sorted() {
            let read = try #require(await Self.send("GET", cluster.http(node), "/v1/jobs/\(id)"))
            #expect(read.status == 200)
            #expect(read.json["status"] as? String == "queued")
        }
        // The same key with another body is a conflict, and nothing is written.
        let other = #"{"graph":"summarize","input":{"text":"something else"},"idempotency_key":"order-17"}"#
        #expect(await Self.send("POST", cluster.http(1), "/v1/jobs", body: other)?.status == 409)
        // Bad input gets typed answers.
        #expect(await Self.send("POST", cluster.http(1), "/v1/jobs", body: #"{"graph":"nope"}"#)?.status == 404)
        #expect(await Self.send("POST", cluster.http(1), "/v1/jobs", body: "name: x\nnodes: [")?.status == 422)
        #expect(await Self.send("POST", cluster.http(1), "/v1/jobs", body: #"{"graph":"summarize","input":{"text":5}}"#)?.status == 422)
        #expect(await Self.send("GET", cluster.http(1), "/v1/jobs/999999")?.status == 404)
        let listed = try #require(await Self.send("GET", cluster.http(2), "/v1/jobs?status=queued"))
        #expect((listed.json["jobs"] as? [[String: Any]])?.count == 1)
    }

    @Test("kill -9 of the leader right after an acknowledged submit: the job survives")
    func acknowledgedSubmitSurvivesLeaderCrash() async throws {
        let cluster = try await Self.startCluster()
        defer { cluster.stopAll() }
        let leaderID = try #require(await Self.leader(cluster))
        let answer = try #require(await Self.send("POST", cluster.http(leaderID), "/v1/jobs", body: #"{"graph":"summarize","input":{"text":"t"}}"#))
        #expect(answer.status == 202)
        let id = try #require(answer.json["id"] as? String)
        cluster.kill9(leaderID)
        let survivors = cluster.peerPorts.keys.sorted().filter { $0 != leaderID }
        let found = await CoordinatorProcessTests.waitUntil {
            await Self.send("GET", cluster.http(survivors[0]), "/v1/jobs/\(id)")?.status == 200
        }
        #expect(found, "the acknowledged job is on the new leader")
    }

    @Test("a scripted worker leases and completes; an abandoned lease expires, the task is leased again, and the stale completion is rejected")
    func scriptedWorkerLeaseExpiryAndStaleCompletion() async throws {
        let cluster = try await Self.startCluster(leaseMillis: 800)
        defer { cluster.stopAll() }
        let submitted = try #require(await Self.send("POST", cluster.http(1), "/v1/jobs", body: #"{"graph":"summarize","input":{"text":"hello"}}"#))
        let id = try #require(submitted.json["id"] as? String)

        let system = try await NakshaActorSystem.start(ActorSystemConfiguration(rebuildableErrors: [ClusterAPIError.self]))
        defer { Task { await system.shutdown() } }
        let leaderID = try #require(await Self.leader(cluster))
        let endpoint = try ClusterEndpoint.at(cluster.addresses[leaderID]!, system: system)
        // A follower refuses, naming the leader.
        let followerID = try #require(cluster.peerPorts.keys.sorted().first { $0 != leaderID })
        do {
            _ = try await ClusterEndpoint.at(cluster.addresses[followerID]!, system: system).register(WorkerRegistration(worker: "w1", capacity: 2))
            Issue.record("a follower served a worker")
        } catch let error as ClusterAPIError {
            #expect(error.code == ClusterAPIError.notLeader)
            #expect(error.leaderAddress == "\(cluster.addresses[leaderID]!)")
        }

        let answer = try await endpoint.register(WorkerRegistration(worker: "w1", capacity: 2))
        #expect(answer.leaseDurationMillis == 800)
        // A long-poll's call deadline must outlast its wait.
        let first = try await NakshaActorSystem.$callTimeout.withValue(.seconds(30)) {
            try await endpoint.lease(LeaseRequest(worker: "w1", max: 2, waitMillis: 5000))
        }
        let abandoned = try #require(first.first)
        #expect(first.count == 1)
        #expect(abandoned.node == "summarize")
        #expect(abandoned.state["text"] == .string("hello"))
        let graph = try await endpoint.graph(contentHash: abandoned.contentHash)
        #expect(graph.reference.name == "summarize")

        // The worker "dies": no heartbeat. The lease expires and the task is granted again.
        let second = try await NakshaActorSystem.$callTimeout.withValue(.seconds(30)) {
            try await endpoint.lease(LeaseRequest(worker: "w1", max: 1, waitMillis: 10_000))
        }
        let retried = try #require(second.first)
        #expect(retried.task == abandoned.task)
        #expect(retried.token != abandoned.token)
        #expect(retried.attempt == abandoned.attempt + 1)

        // The first holder's late completion is rejected: the output is recorded once.
        do {
            try await endpoint.complete(TaskCompletion(task: abandoned.task, token: abandoned.token, output: ["summary": .string("late")]))
            Issue.record("a stale completion was accepted")
        } catch let error as ClusterAPIError {
            #expect(error.code == ClusterAPIError.staleLease)
        }
        // Nor is a late failure report under it.
        do {
            try await endpoint.fail(TaskFailureReport(task: abandoned.task, token: abandoned.token, reason: "late", retryable: true))
            Issue.record("a stale failure report was accepted")
        } catch let error as ClusterAPIError {
            #expect(error.code == ClusterAPIError.staleLease)
        }
        // A heartbeat for the stale lease tells the worker to stop it.
        let beat = try await endpoint.heartbeat(WorkerHeartbeat(worker: "w1", leases: [abandoned.lease, retried.lease]))
        #expect(beat.stop == [abandoned.lease])

        // A batch in one log entry: the stale lease refused, the current one recorded, and its
        // repetition refused (the output is recorded once), each answered on its own.
        let results = try await endpoint.completeBatch([
            TaskCompletion(task: abandoned.task, token: abandoned.token, output: ["summary": .string("late")]),
            TaskCompletion(task: retried.task, token: retried.token, output: ["summary": .string("two sentences")]),
            TaskCompletion(task: retried.task, token: retried.token, output: ["summary": .string("again")]),
        ])
        #expect(results.map(\.errorCode) == [ClusterAPIError.staleLease, nil, ClusterAPIError.staleLease], "\(results)")
        #expect(results.map(\.task) == [abandoned.task, retried.task, retried.task])
        let job = try #require(await Self.send("GET", cluster.http(3), "/v1/jobs/\(id)"))
        #expect(job.json["status"] as? String == "succeeded")
        let tasks = try #require(job.json["tasks"] as? [[String: Any]])
        #expect(tasks.count == 1)
        #expect((tasks.first?["output"] as? [String: Any])?["summary"] as? String == "two sentences")
        #expect(tasks.first?["attempt"] as? Int == 2)
    }

    @Test("the event stream resumes from Last-Event-ID with no gap and no duplicate, on another node")
    func eventStreamResumesOnAnotherNode() async throws {
        let cluster = try await Self.startCluster()
        defer { cluster.stopAll() }
        let submitted = try #require(await Self.send("POST", cluster.http(1), "/v1/jobs", body: #"{"graph":"summarize","input":{"text":"x"}}"#))
        let id = try #require(submitted.json["id"] as? String)
        _ = await Self.send("DELETE", cluster.http(2), "/v1/jobs/\(id)")
        func events(_ node: UInt64, after: String?) async throws -> [String] {
            var request = URLRequest(url: URL(string: "http://\(cluster.http(node))/v1/jobs/\(id)/events")!)
            request.timeoutInterval = 5
            if let after { request.setValue(after, forHTTPHeaderField: "Last-Event-ID") }
            let (data, _) = try await URLSession.shared.data(for: request)
            return String(decoding: data, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) }
        }
        let all = try await events(1, after: nil)
        #expect(all.count == 2, "submitted, then cancelled: \(all)")
        let rest = try await events(3, after: all.first)
        #expect(rest == Array(all.dropFirst()))
    }

    @Test("with API tokens configured, requests need a bearer token (401), admin routes an admin token (403), failures are counted; job metrics are reported by the leader")
    func bearerTokensAndMetrics() async throws {
        let directory = try CoordinatorProcessTests.ProcessCluster.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let user = "user-token-0123456789abcdef"
        let admin = "admin-token-0123456789abcdef"
        let file = "\(directory)/tokens"
        try "# tokens\n\(user)\n\(admin) admin\n".write(toFile: file, atomically: true, encoding: .utf8)
        let cluster = try await Self.startCluster(tokensFile: file)
        defer { cluster.stopAll() }
        #expect(await Self.send("GET", cluster.http(1), "/healthz")?.status == 200, "health stays open")
        let registered = await CoordinatorProcessTests.waitUntil {
            await Self.send("GET", cluster.http(1), "/v1/graphs/summarize/versions", token: user)?.status == 200
        }
        #expect(registered)
        // The leader's metrics loop is running once it samples the queue gauges.
        func metricsText(_ id: UInt64) async -> String {
            await CoordinatorProcessTests.get(cluster.http(id), "/metrics").map { String(decoding: $0.body, as: UTF8.self) } ?? ""
        }
        let reporting = await CoordinatorProcessTests.waitUntil {
            for id in cluster.peerPorts.keys.sorted() where await metricsText(id).contains("naksha_tasks_ready") { return true }
            return false
        }
        #expect(reporting, "a leader reports the queue gauges")
        #expect(await Self.send("GET", cluster.http(1), "/v1/jobs")?.status == 401)
        #expect(await Self.send("GET", cluster.http(1), "/v1/jobs", token: "wrong-token-0123456789abcdef")?.status == 401)
        let submitted = await Self.send("POST", cluster.http(1), "/v1/jobs", body: #"{"graph":"summarize","input":{"text":"t"}}"#, token: user)
        #expect(submitted?.status == 202)
        #expect(await Self.send("POST", cluster.http(1), "/v1/cluster/transfer-leader?to=2", token: user)?.status == 403)
        let asAdmin = await Self.send("POST", cluster.http(1), "/v1/cluster/transfer-leader?to=2", token: admin)?.status
        #expect(asAdmin != 401 && asAdmin != 403)
        guard let metrics = await CoordinatorProcessTests.get(cluster.http(1), "/metrics") else {
            Issue.record("no metrics")
            return
        }
        let text = String(decoding: metrics.body, as: UTF8.self)
        #expect(text.contains("naksha_http_auth_failures_total{reason=\"missing\"} 1"))
        #expect(text.contains("naksha_http_auth_failures_total{reason=\"forbidden\"} 1"))
        // The leader reports submitted jobs (once for the cluster).
        let submittedReported = await CoordinatorProcessTests.waitUntil(timeout: .seconds(10)) {
            for id in cluster.peerPorts.keys.sorted()
            where await metricsText(id).contains("naksha_jobs_submitted_total{graph=\"summarize\"} 1") { return true }
            return false
        }
        #expect(submittedReported)
    }

    @Test("the event stream resumes across a leader change with no gap and no duplicate")
    func eventStreamResumesAcrossALeaderChange() async throws {
        let cluster = try await Self.startCluster(leaseMillis: 600)
        defer { cluster.stopAll() }
        let leaderID = try #require(await Self.leader(cluster))
        let submitted = try #require(await Self.send("POST", cluster.http(leaderID), "/v1/jobs", body: #"{"graph":"summarize","input":{"text":"x"}}"#))
        let id = try #require(submitted.json["id"] as? String)
        func eventIDs(_ node: UInt64, after: String?) async throws -> [String] {
            var request = URLRequest(url: URL(string: "http://\(cluster.http(node))/v1/jobs/\(id)/events")!)
            request.timeoutInterval = 10
            if let after { request.setValue(after, forHTTPHeaderField: "Last-Event-ID") }
            let (data, _) = try await URLSession.shared.data(for: request)
            return String(decoding: data, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) }
        }
        // The first event (submitted) is seen; then the leader dies.
        let survivors = cluster.peerPorts.keys.sorted().filter { $0 != leaderID }
        cluster.kill9(leaderID)
        // The new leader cancels the job: a later event.
        let cancelled = await CoordinatorProcessTests.waitUntil {
            await Self.send("DELETE", cluster.http(survivors[0]), "/v1/jobs/\(id)")?.status == 200
        }
        #expect(cancelled)
        let resumed = try await eventIDs(survivors[1], after: id)
        let all = try await eventIDs(survivors[0], after: nil)
        #expect(all.first == id, "the first event's id is the submit entry's index")
        #expect(resumed == Array(all.dropFirst()), "resumed \(resumed), all \(all)")
        #expect(Set(all).count == all.count, "no duplicates")
    }

    @Test("ten thousand jobs survive a snapshot and a restart from it")
    func tenThousandJobsSnapshotAndRestore() async throws {
        let cluster = try Cluster(snapshotEvery: 2_000)
        let graphs = "\(cluster.directory)/graphs"
        try FileManager.default.createDirectory(atPath: graphs, withIntermediateDirectories: true)
        try Self.summarizeGraph.write(toFile: "\(graphs)/summarize.yaml", atomically: true, encoding: .utf8)
        for id in cluster.peerPorts.keys.sorted() { try cluster.start(id, extraArguments: ["--graphs-dir", graphs]) }
        defer { cluster.stopAll() }
        #expect(await CoordinatorProcessTests.waitForReady(cluster, [1, 2, 3]))
        #expect(await CoordinatorProcessTests.waitUntil { await Self.send("GET", cluster.http(1), "/v1/graphs/summarize/versions")?.status == 200 })
        let total = 10_000
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<32 {
                group.addTask {
                    var index = lane
                    while index < total {
                        let body = #"{"graph":"summarize","input":{"text":"t"},"idempotency_key":"job-\#(index)"}"#
                        var attempts = 0
                        while await Self.send("POST", cluster.http(UInt64(1 + index % 3)), "/v1/jobs", body: body)?.status != 202 {
                            attempts += 1
                            if attempts > 50 { throw CoordinatorProcessTests.CLIProcessError("job \(index) was not accepted") }
                        }
                        index += 32
                    }
                }
            }
            try await group.waitForAll()
        }
        let status = try #require(await CoordinatorProcessTests.cluster(cluster.http(1)))
        #expect(status.commitIndex > UInt64(total))
        // Node 3 restarts: it comes back from its snapshot (and the log after it).
        cluster.kill9(3)
        try cluster.start(3, extraArguments: ["--graphs-dir", graphs])
        #expect(await CoordinatorProcessTests.waitForReady(cluster, [3]))
        var count = 0
        var cursor: String? = nil
        repeat {
            let path = "/v1/jobs?limit=1000" + (cursor.map { "&cursor=\($0)" } ?? "")
            // A page is a linearizable read: right after the restart it may answer 503 while
            // leadership settles; ask again until it answers 200.
            var page: [String: Any]? = nil
            _ = await CoordinatorProcessTests.waitUntil(timeout: .seconds(60)) {
                guard let answer = await Self.send("GET", cluster.http(3), path, timeout: 60), answer.status == 200 else { return false }
                page = answer.json
                return true
            }
            let answer = try #require(page, "no answer for \(path)")
            count += (answer["jobs"] as? [[String: Any]])?.count ?? 0
            cursor = answer["next_cursor"] as? String
        } while cursor != nil
        #expect(count == total)
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: cluster.dataDirectory(3) + "/snapshots").filter { $0.hasSuffix(".snap") }
        #expect(!snapshots.isEmpty, "node 3 took a snapshot")
    }

    @Test("finished jobs are archived to Postgres and evicted from the state, and still read back from the archive")
    func finishedJobsAreArchivedAndReadBack() async throws {
        let postgres = try PostgresServer.start()
        defer { postgres.stop() }
        let cluster = try await Self.startCluster(databaseURL: postgres.url)
        defer { cluster.stopAll() }
        var ids: [String] = []
        for index in 0..<5 {
            let answer = try #require(
                await Self.send("POST", cluster.http(1), "/v1/jobs", body: #"{"graph":"summarize","input":{"text":"job \#(index)"}}"#))
            ids.append(try #require(answer.json["id"] as? String))
        }
        for id in ids { #expect(await Self.send("DELETE", cluster.http(2), "/v1/jobs/\(id)")?.status == 200) }
        // The leader archives the cancelled jobs, then evicts them: the state no longer lists them...
        let evicted = await CoordinatorProcessTests.waitUntil {
            guard let page = await Self.send("GET", cluster.http(3), "/v1/jobs?status=cancelled") else { return false }
            return (page.json["jobs"] as? [[String: Any]])?.isEmpty == true
        }
        #expect(evicted, "cancelled jobs were evicted after archiving")
        // ...but every node still answers for each of them, from the archive.
        for id in ids {
            for node in cluster.peerPorts.keys.sorted() {
                let job = try #require(await Self.send("GET", cluster.http(node), "/v1/jobs/\(id)"))
                #expect(job.status == 200)
                #expect(job.json["archived"] as? Bool == true)
                #expect(job.json["status"] as? String == "cancelled")
                #expect((job.json["input"] as? [String: Any])?["text"] as? String != nil)
            }
        }
        #expect(await Self.send("GET", cluster.http(1), "/v1/jobs/424242")?.status == 404)
    }
}
