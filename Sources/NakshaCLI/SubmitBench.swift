import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NakshaCore
import NakshaProtocol

/// `naksha bench submit`: submit throughput over the binary client protocol against the HTTP
/// job API, in the same run on the same three coordinators (fsync on, no workers: jobs only
/// queue). `--clients` closed-loop callers each submit a one-node job and wait for its
/// acknowledgement, then submit the next; callers are spread over the three coordinators the
/// same way for both. Each round runs one pass of each, the order alternating between rounds
/// (jobs accumulate, so the second pass meets a larger state), and each round's ratio is
/// reported, with its min–max over the rounds.
struct SubmitBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit", abstract: "Jobs submitted per second and latency: binary protocol vs HTTP, interleaved rounds.")

    @Option(help: "Concurrent closed-loop callers.") var clients = 64
    @Option(help: "Rounds of each (protocol, HTTP, protocol, HTTP …).") var rounds = 5
    @Option(help: "How long each pass submits, e.g. 5s.") var duration = "5s"
    @Option(help: "First coordinator peer port.") var basePeerPort = 27701
    @Option(help: "First coordinator HTTP port.") var baseHttpPort = 28381
    @Option(help: "First coordinator client port.") var baseClientPort = 28481

    struct Pass {
        var jobs: Int
        var seconds: Double
        var latencies: [Double]
        var errors: Int
        var rate: Double { Double(jobs) / seconds }
        func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] * 1000 }
    }

    func run() async throws {
        try await runReporting {
            let length = try RaftBench.parseDuration(duration)
            guard rounds >= 1, clients >= 1 else { throw CLIError("--rounds and --clients must be at least 1") }
            let directory = NSTemporaryDirectory() + "naksha-bench-submit-\(getpid())"
            try FileManager.default.createDirectory(atPath: directory + "/graphs", withIntermediateDirectories: true)
            try JobsBench.graph(nodes: 1).write(toFile: "\(directory)/graphs/noop.yaml", atomically: true, encoding: .utf8)
            let cluster = LocalCluster(nodes: 3, basePeerPort: basePeerPort, baseHTTPPort: baseHttpPort, baseClientPort: baseClientPort, directory: directory)
            cluster.graphsDirectory = directory + "/graphs"
            var succeeded = false
            defer {
                cluster.stopAll()
                if succeeded { try? FileManager.default.removeItem(atPath: directory) }
            }
            try cluster.startAll()
            try await cluster.waitUntilReady(timeout: .seconds(60))
            let members = cluster.members.values.sorted { $0.id < $1.id }
            let protocolClients = try members.map { try NakshaClient(NakshaClient.Configuration(servers: [$0.client], acceptCompression: false)) }
            defer { for client in protocolClients { Task { await client.close() } } }
            _ = try await QueueBench.submitUntilAccepted(members[0].http)  // a leader, and the graph registered
            print("naksha bench submit: 3 coordinators (fsync on), no workers, \(clients) callers, \(rounds) rounds of \(duration) each way")
            var ratios: [Double] = []
            var summary: [[String: Any]] = []
            for round in 1...rounds {
                let binaryPass = { try await Self.pass(clients: clients, length: length) { caller, sequence in
                    var request = Naksha_V1_SubmitJobRequest()
                    request.graph = "noop"
                    request.idempotencyKey = "bench-p\(round)-\(caller)-\(sequence)"
                    _ = try await protocolClients[caller % protocolClients.count].submitJob(request, timeout: .seconds(30))
                } }
                let httpPass = { try await Self.pass(clients: clients, length: length) { caller, sequence in
                    try await Self.submitHTTP(members[caller % members.count].http, key: "bench-h\(round)-\(caller)-\(sequence)")
                } }
                // Jobs pile up (no workers), so whichever goes second meets a larger state:
                // the order alternates (protocol first in odd rounds, HTTP first in even ones).
                let binary: Pass
                let http: Pass
                if round % 2 == 1 {
                    binary = try await binaryPass()
                    http = try await httpPass()
                } else {
                    http = try await httpPass()
                    binary = try await binaryPass()
                }
                let ratio = http.rate > 0 ? binary.rate / http.rate : 0
                ratios.append(ratio)
                print(String(
                    format: "round %d: protocol %.0f jobs/s (p50 %.2f ms, p99 %.2f ms) · HTTP %.0f jobs/s (p50 %.2f ms, p99 %.2f ms) · ratio %.2f×%@",
                    round, binary.rate, binary.percentile(0.5), binary.percentile(0.99), http.rate, http.percentile(0.5), http.percentile(0.99), ratio,
                    binary.errors + http.errors > 0 ? " (\(binary.errors) / \(http.errors) refused and retried)" : ""))
                summary.append([
                    "round": round, "protocol_jobs_per_s": binary.rate.rounded(), "protocol_p50_ms": binary.percentile(0.5),
                    "protocol_p99_ms": binary.percentile(0.99), "http_jobs_per_s": http.rate.rounded(), "http_p50_ms": http.percentile(0.5),
                    "http_p99_ms": http.percentile(0.99), "ratio": (ratio * 100).rounded() / 100,
                ])
            }
            print(String(format: "protocol/HTTP throughput ratio over %d rounds: %.2f–%.2f×", rounds, ratios.min() ?? 0, ratios.max() ?? 0))
            let json: [String: Any] = ["system": "naksha", "benchmark": "submit", "clients": clients, "duration_s": length.inSeconds, "rounds": summary]
            print(String(decoding: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), as: UTF8.self))
            succeeded = true
        }
    }

    /// `clients` callers submit in a closed loop for `length`; acknowledged submits and their
    /// latencies. A refused submit (an election) is counted and tried again.
    static func pass(clients: Int, length: Duration, _ submit: @escaping @Sendable (Int, Int) async throws -> Void) async throws -> Pass {
        let start = ContinuousClock.now
        let deadline = start + length
        let parts = try await withThrowingTaskGroup(of: ([Double], Int).self) { group in
            for caller in 0..<clients {
                group.addTask {
                    var latencies: [Double] = []
                    var errors = 0
                    var sequence = 0
                    while ContinuousClock.now < deadline {
                        let begin = ContinuousClock.now
                        sequence += 1
                        do {
                            try await submit(caller, sequence)
                            if ContinuousClock.now <= deadline { latencies.append((ContinuousClock.now - begin).inSeconds) }
                        } catch {
                            errors += 1
                        }
                    }
                    return (latencies, errors)
                }
            }
            var all: ([Double], Int) = ([], 0)
            for try await part in group {
                all.0 += part.0
                all.1 += part.1
            }
            return all
        }
        return Pass(jobs: parts.0.count, seconds: length.inSeconds, latencies: parts.0.sorted(), errors: parts.1)
    }

    static func submitHTTP(_ server: String, key: String) async throws {
        var request = HTTPClientRequest(url: "http://\(server)/v1/jobs")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"graph":"noop","idempotency_key":"\#(key)"}"#))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 16)
        guard response.status.code == 202 else { throw CLIError("submit answered \(response.status.code): \(String(buffer: body))") }
    }
}
