import ArgumentParser
import AsyncHTTPClient
import Foundation
import NakshaActors
import NakshaClusterAPI
import NakshaCore
import NakshaGraph
import NakshaProtocol
import NakshaState
import NIOCore
import NIOHTTP1

/// `naksha bench queue`: the job queue alone — submit → lease → complete — with scripted
/// workers in this process calling the leader's `ClusterEndpoint` (batched leases, concurrent
/// completions, no node work), on three `naksha coordinator` processes with fsync on.
/// `--clients` closed-loop callers each submit a one-node job (over the binary client protocol,
/// Naksha's fastest API, as the peer uses its own client; `--submit http` posts to
/// `POST /v1/jobs` instead) and wait until
/// a scripted worker's completion of it was acknowledged, then submit the next: the same
/// shape as the NATS JetStream peer (`benchmarks/peers/nats`).
struct QueueBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "Jobs/s and latency of submit → lease → complete, with in-process scripted workers.")

    @Option(help: "Concurrent closed-loop callers.") var clients = 64
    @Option(help: "Scripted workers (each leases up to 256 tasks per call).") var workers = 2
    @Option(help: "How long to submit, e.g. 10s.") var duration = "10s"
    @Option(help: "First coordinator peer port.") var basePeerPort = 27601
    @Option(help: "First coordinator HTTP port.") var baseHttpPort = 28281
    @Option(help: "How callers submit: protocol (the binary client protocol) or http (POST /v1/jobs).") var submit = "protocol"

    func run() async throws {
        try await runReporting {
            let length = try RaftBench.parseDuration(duration)
            let directory = NSTemporaryDirectory() + "naksha-bench-queue-\(getpid())"
            try FileManager.default.createDirectory(atPath: directory + "/graphs", withIntermediateDirectories: true)
            try JobsBench.graph(nodes: 1).write(toFile: "\(directory)/graphs/noop.yaml", atomically: true, encoding: .utf8)
            let cluster = LocalCluster(nodes: 3, basePeerPort: basePeerPort, baseHTTPPort: baseHttpPort, directory: directory)
            cluster.graphsDirectory = directory + "/graphs"
            var succeeded = false
            defer {
                cluster.stopAll()
                if succeeded { try? FileManager.default.removeItem(atPath: directory) }
            }
            try cluster.startAll()
            try await cluster.waitUntilReady(timeout: .seconds(60))
            let system = try await NakshaActorSystem.start(ActorSystemConfiguration(rebuildableErrors: [ClusterAPIError.self]))
            defer { Task { await system.shutdown() } }
            let leader = try await Self.leaderEndpoint(cluster.peers.values.sorted { $0.port < $1.port }, system: system)
            let completions = Completions()
            let servers = cluster.members.values.sorted { $0.id < $1.id }.map(\.http)
            guard submit == "protocol" || submit == "http" else { throw CLIError("--submit is protocol or http") }
            let protocolClients = try cluster.members.values.sorted { $0.id < $1.id }.map { member in
                try NakshaClient(NakshaClient.Configuration(servers: [member.client], defaultTimeout: .seconds(30)))
            }
            defer { for client in protocolClients { Task { await client.close() } } }
            let viaProtocol = submit == "protocol"
            // Warm up: the graph is registered once a submit is accepted.
            _ = try await Self.submitUntilAccepted(servers[0])
            print("naksha bench queue: 3 coordinators (fsync on), \(workers) scripted workers in process, \(clients) clients, \(duration)")
            let deadline = ContinuousClock.now + length
            // The scripted workers run until every caller is done (then they are cancelled), so
            // a job submitted just before the deadline still completes.
            let scripted = (0..<workers).map { index in
                Task { try await Self.scriptedWorker("bench-w\(index)", leader: leader, completions: completions) }
            }
            defer { for worker in scripted { worker.cancel() } }
            let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
                for client in 0..<clients {
                    group.addTask {
                        var latencies: [Double] = []
                        while ContinuousClock.now < deadline {
                            let begin = ContinuousClock.now
                            let submitted = viaProtocol
                                ? try? await Self.submit(protocolClients[client % protocolClients.count])
                                : try? await Self.submit(servers[client % servers.count])
                            guard let id = submitted else { continue }  // refused: try again
                            await completions.wait(for: id)
                            if ContinuousClock.now <= deadline { latencies.append((ContinuousClock.now - begin).inSeconds) }
                        }
                        return latencies
                    }
                }
                var all: [Double] = []
                for try await part in group { all += part }
                return all.sorted()
            }
            func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] * 1000 }
            let rate = Double(latencies.count) / length.inSeconds
            print(String(format: "%.0f jobs/s, p50 %.2f ms, p99 %.2f ms (%d jobs)", rate, percentile(0.5), percentile(0.99), latencies.count))
            let json: [String: Any] = [
                "system": "naksha", "benchmark": "queue", "submit": submit, "clients": clients, "workers": workers, "duration_s": length.inSeconds,
                "jobs": latencies.count, "jobs_per_s": (rate * 10).rounded() / 10, "p50_ms": (percentile(0.5) * 100).rounded() / 100,
                "p99_ms": (percentile(0.99) * 100).rounded() / 100,
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), as: UTF8.self))
            succeeded = true
        }
    }

    /// Leases batches and completes every task at once (concurrently), until cancelled.
    static func scriptedWorker(_ id: String, leader: ClusterEndpoint, completions: Completions) async throws {
        let worker = WorkerID(rawValue: id)
        _ = try await leader.register(WorkerRegistration(worker: worker, capacity: 1024))
        while !Task.isCancelled {
            let tasks = try await NakshaActorSystem.$callTimeout.withValue(.seconds(10)) {
                try await leader.lease(LeaseRequest(worker: worker, max: 256, waitMillis: 500))
            }
            guard !tasks.isEmpty else { continue }
            let results = try await leader.completeBatch(tasks.map { TaskCompletion(task: $0.task, token: $0.token, output: ["out0": .string("x")]) })
            for result in results where result.errorCode == nil { await completions.completed(result.task.job) }
        }
    }

    static func leaderEndpoint(_ peers: [NodeAddress], system: NakshaActorSystem) async throws -> ClusterEndpoint {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            for address in peers {
                let endpoint = try ClusterEndpoint.at(address, system: system)
                do {
                    _ = try await endpoint.heartbeat(WorkerHeartbeat(worker: "bench-probe", leases: []))
                    return endpoint
                } catch let error as ClusterAPIError where error.code == ClusterAPIError.unknownWorker {
                    return endpoint  // the leader answered (it does not know the probe)
                } catch {
                    continue
                }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw CLIError("no coordinator led within 30 s")
    }

    static func submit(_ server: String) async throws -> JobID {
        var request = HTTPClientRequest(url: "http://\(server)/v1/jobs")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"graph":"noop"}"#))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 16))
        guard response.status.code == 202, let range = text.range(of: #""id":""#),
              let id = JobID(parsing: String(text[range.upperBound...].prefix { $0 != "\"" }))
        else { throw CLIError("submit answered \(response.status.code): \(text)") }
        return id
    }

    static func submit(_ client: NakshaClient) async throws -> JobID {
        var request = Naksha_V1_SubmitJobRequest()
        request.graph = "noop"
        return JobID(rawValue: try await client.submitJob(request).jobID)
    }

    static func submitUntilAccepted(_ server: String) async throws -> JobID {
        for _ in 0..<150 {
            if let id = try? await submit(server) { return id }  // no leader or graph yet: try again
            try await Task.sleep(for: .milliseconds(200))
        }
        throw CLIError("the cluster accepted no job within 30 s")
    }

    /// Job completions, matched with the callers waiting for them in either order.
    actor Completions {
        private var done: Set<JobID> = []
        private var waiting: [JobID: CheckedContinuation<Void, Never>] = [:]

        func completed(_ id: JobID) {
            if let continuation = waiting.removeValue(forKey: id) { continuation.resume() } else { done.insert(id) }
        }

        func wait(for id: JobID) async {
            if done.remove(id) != nil { return }
            await withCheckedContinuation { waiting[id] = $0 }
        }
    }
}
