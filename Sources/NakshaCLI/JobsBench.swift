import ArgumentParser
import AsyncHTTPClient
import Foundation
import NakshaCore
import NIOCore
import NIOHTTP1
import Synchronization

/// `naksha bench jobs`: submit-to-complete throughput and latency of a linear no-op graph
/// (`--nodes` template nodes) on a local cluster of three coordinators (fsync on) and
/// `--workers` workers, all separate processes. Each of `--clients` callers submits one job at
/// a time with `POST /v1/jobs?wait=60s` (the answer comes when the job has finished) and
/// submits the next as soon as it has. Reported: jobs/s, job latency p50 and p99, and the
/// time per node (job latency / nodes).
struct JobsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "Jobs/s and submit-to-complete latency of a no-op graph on 3 coordinators and N workers.")

    @Option(help: "Nodes in the linear no-op graph.") var nodes = 1
    @Option(help: "Concurrent callers, each with one job in flight.") var clients = 64
    @Option(help: "Worker processes.") var workers = 2
    @Option(help: "Tasks each worker runs at once.") var concurrency = 64
    @Option(help: "How long to submit, e.g. 20s.") var duration = "20s"
    @Option(help: "Rounds (the cluster is started once; each round measures for --duration).") var rounds = 1
    @Option(help: "First coordinator peer port.") var basePeerPort = 27501
    @Option(help: "First coordinator HTTP port.") var baseHttpPort = 28181
    @Option(help: "First worker HTTP port.") var baseWorkerPort = 29191

    func run() async throws {
        try await runReporting {
            guard (1...8).contains(nodes), clients >= 1, workers >= 1, rounds >= 1 else { throw CLIError("--nodes 1…8, --clients, --workers and --rounds ≥ 1") }
            let length = try RaftBench.parseDuration(duration)
            let directory = NSTemporaryDirectory() + "naksha-bench-jobs-\(getpid())"
            let graphs = directory + "/graphs"
            try FileManager.default.createDirectory(atPath: graphs, withIntermediateDirectories: true)
            try Self.graph(nodes: nodes).write(toFile: "\(graphs)/noop.yaml", atomically: true, encoding: .utf8)
            let cluster = LocalCluster(nodes: 3, basePeerPort: basePeerPort, baseHTTPPort: baseHttpPort, directory: directory)
            cluster.graphsDirectory = graphs
            cluster.baseWorkerHTTPPort = baseWorkerPort
            cluster.workerArguments = ["--concurrency", "\(concurrency)", "--lease-wait", "1000"]
            var succeeded = false
            defer {
                cluster.stopAll()
                if succeeded { try? FileManager.default.removeItem(atPath: directory) }
            }
            try cluster.startAll()
            try await cluster.waitUntilReady(timeout: .seconds(60))
            for index in 1...workers { try cluster.startWorker(index) }
            try await cluster.waitUntilWorkersReady()
            let servers = cluster.members.values.sorted { $0.id < $1.id }.map(\.http)
            // Warm up: the graph is registered and a few jobs run.
            _ = try await Self.load(servers: servers, clients: min(clients, 8), duration: .seconds(2))
            print("naksha bench jobs: \(nodes)-node no-op graph, 3 coordinators (fsync on), \(workers) workers × \(concurrency), \(clients) clients, \(duration) per round")
            var results: [[String: Any]] = []
            for round in 1...rounds {
                let result = try await Self.load(servers: servers, clients: clients, duration: length)
                let sorted = result.latencies.sorted()
                func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1000 }
                let rate = Double(sorted.count) / length.inSeconds
                print(String(format: "round %d: %.0f jobs/s, p50 %.2f ms, p99 %.2f ms, %.2f ms per node (%d jobs, %d errors)",
                    round, rate, percentile(0.5), percentile(0.99), percentile(0.5) / Double(nodes), sorted.count, result.errors))
                results.append([
                    "round": round, "jobs": sorted.count, "errors": result.errors, "jobs_per_s": (rate * 10).rounded() / 10,
                    "p50_ms": (percentile(0.5) * 100).rounded() / 100, "p99_ms": (percentile(0.99) * 100).rounded() / 100,
                    "ms_per_node_p50": (percentile(0.5) / Double(nodes) * 1000).rounded() / 1000,
                ])
            }
            let json: [String: Any] = [
                "system": "naksha", "benchmark": "jobs", "nodes": nodes, "clients": clients, "workers": workers, "concurrency": concurrency,
                "duration_s": length.inSeconds, "rounds": results,
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), as: UTF8.self))
            succeeded = true
        }
    }

    static func graph(nodes: Int) -> String {
        var lines = ["name: noop", "version: 1", "state:", "  name: { type: string, default: Ada }"]
        for index in 0..<nodes { lines.append("  out\(index): string") }
        lines.append("nodes:")
        for index in 0..<nodes {
            lines += ["  n\(index):", "    type: template", "    params:", "      template: \"Hello {{ state.name }}\"", "    writes: [out\(index)]"]
        }
        lines.append("edges:")
        var previous = "START"
        for index in 0..<nodes {
            lines += ["  - from: \(previous)", "    to: n\(index)"]
            previous = "n\(index)"
        }
        lines += ["  - from: \(previous)", "    to: END"]
        return lines.joined(separator: "\n") + "\n"
    }

    struct LoadResult {
        var latencies: [Double]
        var errors: Int
    }

    /// `clients` callers, each submitting `noop` jobs with `?wait=60s` back to back, spread
    /// over the coordinators, for `duration`. A job counts when its answer says `succeeded`.
    static func load(servers: [String], clients: Int, duration: Duration) async throws -> LoadResult {
        let deadline = ContinuousClock.now + duration
        let body = ByteBuffer(string: #"{"graph":"noop"}"#)
        return await withTaskGroup(of: LoadResult.self) { group in
            for client in 0..<clients {
                group.addTask {
                    var result = LoadResult(latencies: [], errors: 0)
                    let server = servers[client % servers.count]
                    while ContinuousClock.now < deadline {
                        var request = HTTPClientRequest(url: "http://\(server)/v1/jobs?wait=60s")
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(body)
                        let begin = ContinuousClock.now
                        do {
                            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(90))
                            let collected = try await response.body.collect(upTo: 1 << 20)
                            let text = String(buffer: collected)
                            if response.status.code == 200, text.contains("\"succeeded\"") {
                                result.latencies.append((ContinuousClock.now - begin).inSeconds)
                            } else {
                                result.errors += 1
                            }
                        } catch {
                            result.errors += 1
                        }
                    }
                    return result
                }
            }
            var total = LoadResult(latencies: [], errors: 0)
            for await part in group {
                total.latencies += part.latencies
                total.errors += part.errors
            }
            return total
        }
    }
}
