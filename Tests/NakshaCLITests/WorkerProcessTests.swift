import Foundation
import Hummingbird
import NakshaTestSupport
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Workers with real processes (issue 16, item 4): three coordinators and two
/// `naksha worker` processes on loopback, graphs run end to end, and the failure paths —
/// a worker killed mid-task, retries to the dead-letter state, cancel, interrupt and resume,
/// the leader killed while tasks run, and a provider's 429 throttling every worker.
@Suite(.serialized) struct WorkerProcessTests {
    typealias Cluster = CoordinatorProcessTests.ProcessCluster

    static let graphs: [String: String] = [
        "pipeline": """
            name: pipeline
            version: 1
            state:
              name: string
              greeting: string
              copy: string
              answer: string
            nodes:
              greet:
                type: template
                params:
                  template: "Hello {{ state.name }}. Workers lease tasks from the coordinators and record every output once."
                writes: [greeting]
              copy:
                type: transform
                params:
                  set:
                    copy: state.greeting
              answer:
                type: llm.chat
                params:
                  model: offline-extractive
                  prompt: |
                    Question: how do workers lease tasks?
                    Context: {{ state.copy }}
                writes: [answer]
            edges:
              - from: START
                to: greet
              - from: greet
                to: copy
              - from: copy
                to: answer
              - from: answer
                to: END
            """,
        "flaky": """
            name: flaky
            version: 1
            state:
              out: string
            nodes:
              boom:
                type: test.fail
                params:
                  message: the flaky dependency is down
                retry: { maxAttempts: 3, backoff: fixed, initialDelay: 300ms }
            edges:
              - from: START
                to: boom
              - from: boom
                to: END
            """,
        "sleeper": """
            name: sleeper
            version: 1
            state:
              done: string
            nodes:
              nap:
                type: test.sleep
                params:
                  millis: 60000
            edges:
              - from: START
                to: nap
              - from: nap
                to: END
            """,
        // A subgraph call (child job) and the graph it calls; registered in name order, so
        // the child graph is known when the parent is registered.
        "sub_child": """
            name: sub_child
            version: 1
            state:
              name: string
              greeting: string
            nodes:
              greet:
                type: template
                params:
                  template: "Hello from the child, {{ state.name }}"
                writes: [greeting]
            edges:
              - from: START
                to: greet
              - from: greet
                to: END
            """,
        "sub_parent": """
            name: sub_parent
            version: 1
            state:
              name: string
              greeting: string
            nodes:
              call:
                type: subgraph
                params:
                  graph: sub_child@1
                  input:
                    name: state.name
                writes: [greeting]
            edges:
              - from: START
                to: call
              - from: call
                to: END
            """,
        "napper": """
            name: napper
            version: 1
            state:
              done: string
            nodes:
              nap:
                type: test.sleep
                params:
                  millis: 2500
                  output: rested
                writes: [done]
                retry: { maxAttempts: 3, backoff: fixed, initialDelay: 100ms }
            edges:
              - from: START
                to: nap
              - from: nap
                to: END
            """,
        "approval": """
            name: approval
            version: 1
            state:
              draft: string
              approved: { type: bool, default: false }
              result: string
            nodes:
              draft:
                type: template
                params:
                  template: "a draft report"
                writes: [draft]
                interrupt: after
              publish:
                type: template
                params:
                  template: "published {{ state.draft }} approved={{ state.approved }}"
                writes: [result]
            edges:
              - from: START
                to: draft
              - from: draft
                to: publish
              - from: publish
                to: END
            """,
        "caller": """
            name: caller
            version: 1
            state:
              q: string
              base: string
              answer: any
            nodes:
              call:
                type: http
                params:
                  method: POST
                  url: "{{ state.base }}/echo?q={{ state.q }}"
                  headers:
                    Authorization: "Bearer secret://NAKSHA_TEST_SECRET"
                  body: state.q
                writes: [answer]
            edges:
              - from: START
                to: call
              - from: call
                to: END
            """,
        "cached": """
            name: cached
            version: 1
            state:
              name: string
              greeting: string
            nodes:
              greet:
                type: template
                params:
                  template: "Hello {{ state.name }}"
                writes: [greeting]
                cache: { ttl: 1h, key: state.name }
            edges:
              - from: START
                to: greet
              - from: greet
                to: END
            """,
        "embedder": """
            name: embedder
            version: 1
            state:
              text: string
              vector: list
            nodes:
              embed:
                type: embed
                params:
                  input: state.text
                  model: text-embedding-3-small
                writes: [vector]
                retry: { maxAttempts: 6, backoff: fixed, initialDelay: 50ms }
            edges:
              - from: START
                to: embed
              - from: embed
                to: END
            """,
    ]

    /// `naksha worker` processes next to a `Cluster`.
    final class Workers: @unchecked Sendable {
        let cluster: Cluster
        var processes: [String: Process] = [:]
        var httpPorts: [String: Int] = [:]

        init(cluster: Cluster) {
            self.cluster = cluster
        }

        func start(_ id: String, concurrency: Int = 4, environment: [String: String] = [:]) throws {
            var taken: Set<Int> = Set(cluster.httpPorts.values).union(cluster.peerPorts.values)
            let port = try stableLoopbackPort(avoiding: &taken)
            let process = Process()
            process.executableURL = try CoordinatorProcessTests.nakshaBinary()
            let coordinators = cluster.peerPorts.keys.sorted().map { "127.0.0.1:\(cluster.peerPorts[$0]!)" }.joined(separator: ",")
            process.arguments = [
                "worker", "--id", id, "--coordinators", coordinators, "--http-port", "\(port)", "--concurrency", "\(concurrency)",
                "--lease-wait", "1000", "--shutdown-grace", "2", "--providers", environment["OPENAI_KEY"] == nil ? "offline" : "auto",
            ]
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            let path = "\(cluster.directory)/\(id).log"
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            process.standardError = log
            process.standardOutput = log
            try process.run()
            processes[id] = process
            httpPorts[id] = port
        }

        func http(_ id: String) -> String { "127.0.0.1:\(httpPorts[id] ?? 0)" }

        func log(_ id: String) -> String { (try? String(contentsOfFile: "\(cluster.directory)/\(id).log", encoding: .utf8)) ?? "" }

        func kill9(_ id: String) {
            guard let process = processes.removeValue(forKey: id) else { return }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        /// Sends `signal` (SIGSTOP freezes the worker: it neither answers nor heartbeats).
        func send(_ signal: Int32, to id: String) {
            guard let process = processes[id] else { return }
            kill(process.processIdentifier, signal)
        }

        func waitReady() async -> Bool {
            for id in processes.keys.sorted() {
                let ready = await CoordinatorProcessTests.waitUntil(timeout: .seconds(30)) {
                    await CoordinatorProcessTests.get(self.http(id), "/readyz")?.status == 200
                }
                if !ready { return false }
            }
            return true
        }

        func stopAll() {
            for id in Array(processes.keys) { kill9(id) }
        }

        deinit { stopAll() }
    }

    static func start(workers count: Int = 2, leaseMillis: Int = 1000, environment: [String: String] = [:]) async throws -> (Cluster, Workers) {
        let cluster = try Cluster()
        let directory = "\(cluster.directory)/graphs"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (name, yaml) in graphs { try yaml.write(toFile: "\(directory)/\(name).yaml", atomically: true, encoding: .utf8) }
        for id in cluster.peerPorts.keys.sorted() {
            try cluster.start(id, extraArguments: ["--graphs-dir", directory, "--lease-duration", "\(leaseMillis)"])
        }
        #expect(await CoordinatorProcessTests.waitForReady(cluster, [1, 2, 3]))
        let registered = await CoordinatorProcessTests.waitUntil {
            await JobQueueProcessTests.send("GET", cluster.http(1), "/v1/graphs/embedder/versions")?.status == 200
        }
        #expect(registered)
        let workers = Workers(cluster: cluster)
        for index in 1...count { try workers.start("w\(index)", environment: environment) }
        #expect(await workers.waitReady(), "the workers registered with the leader")
        return (cluster, workers)
    }

    static func submit(_ cluster: Cluster, _ body: String, node: UInt64 = 1) async throws -> String {
        var answer: (status: Int, json: [String: Any])?
        _ = await CoordinatorProcessTests.waitUntil {
            answer = await JobQueueProcessTests.send("POST", cluster.http(node), "/v1/jobs", body: body)
            return answer?.status == 202
        }
        return try #require(answer?.json["id"] as? String, "submit answered \(String(describing: answer))")
    }

    /// The job once `condition` holds for it, read from `node` (nil on timeout).
    static func job(_ cluster: Cluster, _ id: String, node: UInt64 = 1, timeout: Duration = .seconds(60), until condition: ([String: Any]) -> Bool)
        async -> [String: Any]?
    {
        var job: [String: Any]?
        let met = await CoordinatorProcessTests.waitUntil(timeout: timeout) {
            for candidate in [node, 1, 2, 3] {
                if let answer = await JobQueueProcessTests.send("GET", cluster.http(candidate), "/v1/jobs/\(id)"), answer.status == 200 {
                    job = answer.json
                    return condition(answer.json)
                }
            }
            return false
        }
        return met ? job : nil
    }

    static func status(_ job: [String: Any]) -> String { job["status"] as? String ?? "" }
    static func tasks(_ job: [String: Any]) -> [[String: Any]] { job["tasks"] as? [[String: Any]] ?? [] }

    /// A counter's value in Prometheus text (summed over label sets that contain `labels`).
    static func metric(_ server: String, _ name: String, labels: [String] = []) async -> Double {
        guard let answer = await CoordinatorProcessTests.get(server, "/metrics") else { return 0 }
        var total = 0.0
        for line in String(decoding: answer.body, as: UTF8.self).split(separator: "\n") where line.hasPrefix(name) && !line.hasPrefix("#") {
            guard labels.allSatisfy({ line.contains($0) }), let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            total += value
        }
        return total
    }

    @Test("template → transform → llm.chat runs on the workers; outputs and token counts are visible in GET /v1/jobs/{id}")
    func pipelineCompletes() async throws {
        let (cluster, workers) = try await Self.start()
        defer { workers.stopAll(); cluster.stopAll() }
        let id = try await Self.submit(cluster, #"{"graph":"pipeline","input":{"name":"Ada"}}"#, node: 2)
        let job = try #require(await Self.job(cluster, id, node: 3) { Self.status($0) == "succeeded" }, "the job finished")
        let state = try #require(job["state"] as? [String: Any])
        #expect((state["greeting"] as? String)?.hasPrefix("Hello Ada.") == true)
        #expect(state["copy"] as? String == state["greeting"] as? String)
        let answer = try #require(state["answer"] as? String)
        #expect(answer.contains("Workers lease tasks from the coordinators"), "the offline answerer quoted the context: \(answer)")
        let tasks = Self.tasks(job)
        #expect(tasks.map { $0["node"] as? String } == ["greet", "copy", "answer"])
        #expect(tasks.allSatisfy { $0["state"] as? String == "succeeded" && $0["attempt"] as? Int == 1 })
        let usage = try #require(tasks.last?["usage"] as? [String: Any], "llm.chat recorded its usage")
        #expect(usage["model"] as? String == "offline-extractive")
        #expect((usage["prompt_tokens"] as? Int ?? 0) > 0)
        #expect((usage["completion_tokens"] as? Int ?? 0) > 0)
        let ran = await Self.metric(workers.http("w1"), "naksha_worker_tasks_total", labels: [#"result="succeeded""#])
            + Self.metric(workers.http("w2"), "naksha_worker_tasks_total", labels: [#"result="succeeded""#])
        #expect(ran == 3, "each task ran once across the two workers")
    }

    @Test("a retryable failure backs off and is retried up to maxAttempts, then dead-lettered; the job fails with the reason")
    func failureRetriesThenDeadLetters() async throws {
        let (cluster, workers) = try await Self.start()
        defer { workers.stopAll(); cluster.stopAll() }
        let id = try await Self.submit(cluster, #"{"graph":"flaky"}"#)
        let job = try #require(await Self.job(cluster, id) { Self.status($0) == "failed" })
        let task = try #require(Self.tasks(job).first)
        #expect(task["state"] as? String == "deadLettered")
        #expect(task["attempt"] as? Int == 3)
        #expect((task["error"] as? String)?.contains("the flaky dependency is down") == true)
        // Each retry waited for its backoff: three attempts span at least two 300 ms delays.
        let created = try #require(task["created_ms"] as? Int)
        let finished = try #require(task["finished_ms"] as? Int)
        #expect(finished - created >= 600, "attempts were spaced by the backoff (\(finished - created) ms)")
    }

    @Test("cancel stops a running test.sleep on its worker at the next heartbeat, and nothing is reported for it")
    func cancelStopsRunningTask() async throws {
        let (cluster, workers) = try await Self.start(leaseMillis: 900)
        defer { workers.stopAll(); cluster.stopAll() }
        let id = try await Self.submit(cluster, #"{"graph":"sleeper"}"#)
        let leased = await Self.job(cluster, id) { Self.tasks($0).first?["state"] as? String == "leased" }
        let leasedJob = try #require(leased)
        let worker = try #require(Self.tasks(leasedJob).first?["worker"] as? String)
        #expect(await JobQueueProcessTests.send("DELETE", cluster.http(2), "/v1/jobs/\(id)")?.status == 200)
        let stopped = await CoordinatorProcessTests.waitUntil(timeout: .seconds(10)) {
            await Self.metric(workers.http(worker), "naksha_worker_tasks_total", labels: [#"result="stopped""#]) == 1
        }
        #expect(stopped, "the worker stopped the 60 s sleep well before it ended:\n\(workers.log(worker).suffix(2000))")
        let job = try #require(await Self.job(cluster, id) { Self.status($0) == "cancelled" })
        #expect(Self.tasks(job).first?["output"] is NSNull)
    }

    @Test("a worker killed mid-task: the lease expires, another worker runs the task, and its output is recorded once")
    func killedWorkerTaskRunsElsewhere() async throws {
        let (cluster, workers) = try await Self.start(leaseMillis: 1000)
        defer { workers.stopAll(); cluster.stopAll() }
        let id = try await Self.submit(cluster, #"{"graph":"napper"}"#)
        let leased = try #require(await Self.job(cluster, id) { Self.tasks($0).first?["state"] as? String == "leased" })
        let first = try #require(Self.tasks(leased).first?["worker"] as? String)
        workers.kill9(first)
        let job = try #require(await Self.job(cluster, id, timeout: .seconds(60)) { Self.status($0) == "succeeded" })
        let task = try #require(Self.tasks(job).first)
        #expect(task["attempt"] as? Int == 2, "the first attempt died with its worker")
        #expect((task["output"] as? [String: Any])?["done"] as? String == "rested")
        let other = first == "w1" ? "w2" : "w1"
        #expect(await Self.metric(workers.http(other), "naksha_worker_tasks_total", labels: [#"result="succeeded""#]) == 1)
        let events = try #require(await JobQueueProcessTests.send("GET", cluster.http(1), "/v1/jobs/\(id)"))
        #expect(Self.tasks(events.json).count == 1, "one task record, one output")
    }

    @Test("an interrupt holds the job until it is resumed with input, then it runs to the end")
    func interruptAndResume() async throws {
        let (cluster, workers) = try await Self.start()
        defer { workers.stopAll(); cluster.stopAll() }
        let id = try await Self.submit(cluster, #"{"graph":"approval"}"#)
        _ = try #require(await Self.job(cluster, id) { Self.status($0) == "interrupted" })
        let resumed = await JobQueueProcessTests.send("POST", cluster.http(3), "/v1/jobs/\(id)/resume", body: #"{"input":{"approved":true}}"#)
        #expect(resumed?.status == 200 || resumed?.status == 202)
        let job = try #require(await Self.job(cluster, id) { Self.status($0) == "succeeded" })
        #expect((job["state"] as? [String: Any])?["result"] as? String == "published a draft report approved=true")
    }

    @Test("the leader killed while tasks run: every job finishes, and no task's output is recorded twice")
    func leaderKilledWhileTasksRun() async throws {
        let (cluster, workers) = try await Self.start(leaseMillis: 1500)
        defer { workers.stopAll(); cluster.stopAll() }
        var ids: [String] = []
        for index in 0..<6 { ids.append(try await Self.submit(cluster, #"{"graph":"napper","input":{},"idempotency_key":"nap-\#(index)"}"#)) }
        _ = await Self.job(cluster, ids[0]) { Self.tasks($0).first?["state"] as? String == "leased" }
        let leader = try #require(await JobQueueProcessTests.leader(cluster))
        cluster.kill9(leader)
        let survivor = cluster.peerPorts.keys.sorted().first { $0 != leader }!
        for id in ids {
            let job = try #require(await Self.job(cluster, id, node: survivor, timeout: .seconds(90)) { Self.status($0) == "succeeded" }, "job \(id) finished")
            let tasks = Self.tasks(job)
            #expect(tasks.count == 1)
            #expect((tasks.first?["output"] as? [String: Any])?["done"] as? String == "rested")
        }
        let succeeded = await Self.metric(workers.http("w1"), "naksha_worker_tasks_total", labels: [#"result="succeeded""#])
            + Self.metric(workers.http("w2"), "naksha_worker_tasks_total", labels: [#"result="succeeded""#])
        #expect(succeeded >= 6, "every task was reported")
    }

    @Test("PUT /v1/limits/graphs/{name} caps a graph's leased tasks across all workers; bad limits are refused and nothing is written")
    func graphConcurrencyLimitAcrossWorkers() async throws {
        let (cluster, workers) = try await Self.start()
        defer { workers.stopAll(); cluster.stopAll() }
        let set = try #require(await JobQueueProcessTests.send("PUT", cluster.http(2), "/v1/limits/graphs/napper", body: #"{"max_leased_tasks":1}"#))
        #expect(set.status == 200)
        #expect((set.json["graphs"] as? [String: Any])?["napper"] as? Int == 1)
        #expect(await JobQueueProcessTests.send("PUT", cluster.http(1), "/v1/limits/graphs/napper", body: #"{"max_leased_tasks":0}"#)?.status == 400)
        #expect(await JobQueueProcessTests.send("PUT", cluster.http(1), "/v1/limits/providers/openai:x", body: #"{"tokens_per_second":0}"#)?.status == 400)
        #expect(await JobQueueProcessTests.send("PUT", cluster.http(1), "/v1/limits/graphs/napper", body: "{}")?.status == 400)
        let first = try await Self.submit(cluster, #"{"graph":"napper","input":{},"idempotency_key":"limit-a"}"#)
        let second = try await Self.submit(cluster, #"{"graph":"napper","input":{},"idempotency_key":"limit-b"}"#)
        // Until both finish, never both leased at once, although two workers have free slots.
        var sawBothLeased = false
        var finished = false
        let deadline = ContinuousClock.now + .seconds(30)
        while !finished, ContinuousClock.now < deadline {
            let a = await JobQueueProcessTests.send("GET", cluster.http(1), "/v1/jobs/\(first)")?.json ?? [:]
            let b = await JobQueueProcessTests.send("GET", cluster.http(1), "/v1/jobs/\(second)")?.json ?? [:]
            let leased = [a, b].filter { Self.tasks($0).contains { $0["state"] as? String == "leased" } }
            if leased.count == 2 { sawBothLeased = true }
            finished = Self.status(a) == "succeeded" && Self.status(b) == "succeeded"
        }
        #expect(finished, "both jobs finished, one after the other")
        #expect(!sawBothLeased, "the limit held: the two napper tasks never ran at once")
        let cleared = try #require(await JobQueueProcessTests.send("DELETE", cluster.http(3), "/v1/limits/graphs/napper"))
        #expect((cleared.json["graphs"] as? [String: Any])?.isEmpty == true)
    }

    @Test("a node with a cache policy reuses its output for the same key on the worker that computed it, and not for another key")
    func cachePolicyIsHonoured() async throws {
        let (cluster, workers) = try await Self.start(workers: 1)
        defer { workers.stopAll(); cluster.stopAll() }
        for (name, index) in [("Ada", 1), ("Ada", 2), ("Grace", 3)] {
            let id = try await Self.submit(cluster, #"{"graph":"cached","input":{"name":"\#(name)"},"idempotency_key":"cache-\#(index)"}"#)
            let job = try #require(await Self.job(cluster, id) { Self.status($0) == "succeeded" })
            #expect((job["state"] as? [String: Any])?["greeting"] as? String == "Hello \(name)")
        }
        #expect(await Self.metric(workers.http("w1"), "naksha_worker_tasks_total", labels: [#"result="cached""#]) == 1, "the second Ada came from the cache")
        #expect(await Self.metric(workers.http("w1"), "naksha_worker_tasks_total", labels: [#"result="succeeded""#]) == 2, "Ada once, Grace once")
    }

    /// Records each request it gets and answers with a JSON summary of it.
    final class EchoServer: Sendable {
        let requests = Mutex<[(target: String, authorization: String, idempotencyKey: String, body: String)]>([])

        func application(port: Int) -> some ApplicationProtocol {
            let router = Router()
            router.get("health") { _, _ in "ok" }
            router.post("echo") { request, _ -> Response in
                let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
                let authorization = request.headers[.authorization] ?? ""
                let key = request.headers.first { $0.name.canonicalName == "idempotency-key" }?.value ?? ""
                self.requests.withLock { $0.append((request.uri.description, authorization, key, body)) }
                let json = #"{"received":"# + "\(body.count)" + #","ok":true}"#
                return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: json)))
            }
            return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        }
    }

    @Test("http nodes: secret:// in the graph is resolved from the worker's environment, never from a job's input; Idempotency-Key is the lease; JSON answers become values")
    func httpNodeSecretsAndIdempotencyKey() async throws {
        let echo = EchoServer()
        let port = try stableLoopbackPort()
        let server = Task { try await echo.application(port: port).runService() }
        defer { server.cancel() }
        #expect(await CoordinatorProcessTests.waitUntil { await CoordinatorProcessTests.get("127.0.0.1:\(port)", "/health")?.status == 200 })
        let (cluster, workers) = try await Self.start(workers: 1, environment: ["NAKSHA_TEST_SECRET": "s3cr3t-value"])
        defer { workers.stopAll(); cluster.stopAll() }
        let id = try await Self.submit(cluster, #"{"graph":"caller","input":{"q":"secret://NAKSHA_TEST_SECRET","base":"http://127.0.0.1:\#(port)"}}"#)
        let job = try #require(await Self.job(cluster, id) { Self.status($0) == "succeeded" || Self.status($0) == "failed" })
        #expect(Self.status(job) == "succeeded", "\(job["error"] ?? "")")
        let answer = (job["state"] as? [String: Any])?["answer"] as? [String: Any]
        #expect(answer?["ok"] as? Bool == true, "the JSON answer became a map")
        let seen = try #require(echo.requests.withLock { $0.first })
        #expect(seen.authorization == "Bearer s3cr3t-value", "the graph's own secret reference was resolved")
        #expect(!seen.target.contains("s3cr3t"), "a secret:// in the job's input is not resolved: \(seen.target)")
        #expect(seen.body == "secret://NAKSHA_TEST_SECRET")
        let taskID = try #require(Self.tasks(job).first?["id"] as? String)
        #expect(seen.idempotencyKey.hasPrefix("naksha-\(taskID)-"), "Idempotency-Key names the task and its lease: \(seen.idempotencyKey)")
    }

    /// A provider that speaks the OpenAI embeddings API and answers 429 with `Retry-After: 2`
    /// to every call in the two seconds after the first one.
    final class RateLimitedProvider: Sendable {
        let calls = Mutex<[(at: ContinuousClock.Instant, status: Int)]>([])
        let windowStart = Mutex<ContinuousClock.Instant?>(nil)

        func application(port: Int) -> some ApplicationProtocol {
            let router = Router()
            router.get("health") { _, _ in "ok" }
            router.post("v1/embeddings") { request, _ -> Response in
                _ = try await request.body.collect(upTo: 1 << 20)
                let now = ContinuousClock.now
                let start = self.windowStart.withLock { start in
                    if start == nil { start = now }
                    return start!
                }
                if now - start < .seconds(2) {
                    self.calls.withLock { $0.append((now, 429)) }
                    return Response(
                        status: .tooManyRequests, headers: [.retryAfter: "2", .contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"error":{"message":"Rate limit reached","type":"requests"}}"#)))
                }
                self.calls.withLock { $0.append((now, 200)) }
                let body = #"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2,0.3,0.4]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":3,"total_tokens":3}}"#
                return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
            }
            return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        }
    }

    @Test("a provider's 429 with Retry-After closes its bucket for every worker: no call starts until it reopens, and every job finishes")
    func providerThrottleAppliesToEveryWorker() async throws {
        let provider = RateLimitedProvider()
        let port = try stableLoopbackPort()
        let server = Task { try await provider.application(port: port).runService() }
        defer { server.cancel() }
        #expect(await CoordinatorProcessTests.waitUntil { await CoordinatorProcessTests.get("127.0.0.1:\(port)", "/health")?.status == 200 })
        let (cluster, workers) = try await Self.start(
            environment: ["OPENAI_KEY": "sk-test", "NAKSHA_OPENAI_BASE_URL": "http://127.0.0.1:\(port)/v1"])
        defer { workers.stopAll(); cluster.stopAll() }
        var ids: [String] = []
        for index in 0..<6 { ids.append(try await Self.submit(cluster, #"{"graph":"embedder","input":{"text":"text \#(index)"}}"#)) }
        for id in ids {
            let job = try #require(await Self.job(cluster, id, timeout: .seconds(60)) { Self.status($0) == "succeeded" || Self.status($0) == "failed" })
            #expect(Self.status(job) == "succeeded", "job \(id): \(job["error"] ?? "")")
        }
        let calls = provider.calls.withLock { $0 }
        let limited = calls.filter { $0.status == 429 }
        let firstLimit = try #require(limited.first?.at)
        // Calls already leased when the first 429 came back may still arrive; after the
        // governor closed the bucket (well within 500 ms), none may until Retry-After passes.
        let duringClosed = calls.filter { $0.at > firstLimit + .milliseconds(500) && $0.at < firstLimit + .milliseconds(1900) }
        #expect(duringClosed.isEmpty, "\(duringClosed.count) calls started while the provider was closed")
        #expect(calls.filter { $0.status == 200 }.count == 6, "each job embedded once successfully")
        #expect(calls.count == 6 + limited.count)
        var throttled = 0.0
        for node in cluster.peerPorts.keys.sorted() {
            throttled += await Self.metric(cluster.http(node), "naksha_provider_throttled_total", labels: [#"provider="embed:text-embedding-3-small""#])
        }
        #expect(throttled >= 1, "the leader counted the throttle")
    }
}
