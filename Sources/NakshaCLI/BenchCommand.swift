import ArgumentParser
import Distributed
import Foundation
import NakshaActors
import NakshaRaft
import RaftCore
import Synchronization
import NakshaCore

/// `naksha bench …`: measurements against real processes.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks against real processes.", subcommands: [RaftBench.self, JobsBench.self, QueueBench.self, SubmitBench.self, VectorBench.self])
}

/// `naksha bench raft`: starts a local group of `naksha coordinator` processes (fsync on),
/// drives it with concurrent clients over the actor transport, and reports writes/s, commit
/// latency percentiles and failover time (kill -9 of the leader → first successful write).
struct RaftBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raft", abstract: "Writes/s, commit latency and failover of a local coordinator group.")

    @Option(help: "Group size.") var nodes = 3
    @Option(help: "Concurrent clients, each with one write in flight.") var clients = 64
    @Option(help: "Bytes per value.") var valueSize = 256
    @Option(help: "How long to write, e.g. 20s, 500ms, 1m.") var duration = "20s"
    @Option(help: "Failover trials (kill -9 the leader, time the first successful write); 0 skips.") var failoverTrials = 3
    @Option(help: "First peer port (members use consecutive ports).") var basePeerPort = 27401
    @Option(help: "First HTTP port.") var baseHttpPort = 28081
    @Option(help: "Where the members keep their data and logs (default: a new temporary directory, removed after a clean run).")
    var dataDir: String?
    @Option(help: "Members snapshot every N applied entries (default: the coordinator's, 100000).") var snapshotEvery: UInt64?
    @Flag(help: "Run the members with --nio-executor.") var nioExecutor = false

    func run() async throws {
        try await runReporting {
            guard nodes >= 1, clients >= 1, valueSize >= 0 else { throw CLIError("--nodes and --clients must be positive") }
            let length = try Self.parseDuration(duration)
            let directory = dataDir ?? NSTemporaryDirectory() + "naksha-bench-raft-\(getpid())"
            let cluster = LocalCluster(
                nodes: nodes, basePeerPort: basePeerPort, baseHTTPPort: baseHttpPort, directory: directory, snapshotEvery: snapshotEvery)
            if nioExecutor { cluster.extraArguments = ["--nio-executor"] }
            var succeeded = false
            defer {
                cluster.stopAll()
                // Logs and data stay for a look after a failure.
                if dataDir == nil && succeeded { try? FileManager.default.removeItem(atPath: directory) }
            }
            try cluster.startAll()
            try await cluster.waitUntilReady()
            let client = try await NakshaActorSystem.start(ActorSystemConfiguration(rebuildableErrors: [RaftError.self]))
            defer { Task { await client.shutdown() } }
            let driver = try Driver(peers: cluster.peers, system: client)
            print("naksha bench raft: \(nodes) nodes, \(clients) clients, \(valueSize)-byte values, \(duration), fsync on")
            let result = try await driver.load(clients: clients, valueSize: valueSize, duration: length)
            let seconds = length.inSeconds
            let rate = Double(result.latencies.count) / seconds
            let sorted = result.latencies.sorted()
            func percentile(_ p: Double) -> Double {
                sorted.isEmpty ? 0 : Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1e6
            }
            print(String(format: "writes: %d in %.1f s = %.0f writes/s (%d errors)", sorted.count, seconds, rate, result.errors))
            print(String(format: "commit latency: p50 %.2f ms, p99 %.2f ms, max %.2f ms", percentile(0.5), percentile(0.99), percentile(1)))
            var failovers: [Double] = []
            for trial in 0..<failoverTrials {
                let milliseconds = try await driver.failover(cluster: cluster, valueSize: valueSize)
                failovers.append(milliseconds)
                print(String(format: "failover %d: %.0f ms (kill -9 of the leader → first successful write)", trial + 1, milliseconds))
            }
            let median = failovers.isEmpty ? nil : failovers.sorted()[failovers.count / 2]
            let json: [String: Any] = [
                "system": "naksha", "nodes": nodes, "clients": clients, "value_size": valueSize, "duration_s": seconds,
                "writes": sorted.count, "writes_per_s": (rate * 10).rounded() / 10, "errors": result.errors,
                "latency_p50_ms": (percentile(0.5) * 100).rounded() / 100, "latency_p99_ms": (percentile(0.99) * 100).rounded() / 100,
                "latency_max_ms": (percentile(1) * 100).rounded() / 100,
                "failover_ms": failovers.map { $0.rounded() }, "failover_median_ms": median.map { $0.rounded() } ?? NSNull(),
            ]
            let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            succeeded = true
        }
    }

    static func parseDuration(_ text: String) throws -> Duration {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value > 0 { return .milliseconds(Int64(value * scale * 1000)) }
        }
        if let value = Double(text), value > 0 { return .milliseconds(Int64(value * 1000)) }
        throw CLIError("\"\(text)\" is not a duration (e.g. 20s, 500ms, 1m)")
    }

    /// Proposes to whichever member leads, following hints, as a client library would.
    final class Driver: Sendable {
        let nodes: [UInt64: RaftNode]
        let leader = Mutex<UInt64?>(nil)

        init(peers: [UInt64: NodeAddress], system: NakshaActorSystem) throws {
            var nodes: [UInt64: RaftNode] = [:]
            for (id, address) in peers { nodes[id] = try RaftNode.resolve(id: .wellKnown("raft", on: address), using: system) }
            self.nodes = nodes
        }

        /// Proposes `command` until some leader commits it or `deadline` passes.
        func write(_ command: [UInt8], deadline: ContinuousClock.Instant, excluding dead: UInt64? = nil) async throws {
            while ContinuousClock.now < deadline {
                guard let target = leader.withLock({ $0 }) ?? nodes.keys.sorted().first(where: { $0 != dead }) else {
                    throw CLIError("no member left to write to")
                }
                guard target != dead, let node = nodes[target] else {
                    leader.withLock { $0 = nil }
                    try await findLeader(excluding: dead)
                    continue
                }
                do {
                    _ = try await NakshaActorSystem.$callTimeout.withValue(.seconds(2)) { try await node.propose(command) }
                    return
                } catch let error as RaftError where error.code == .notLeader {
                    let hint = error.leaderHint?.rawValue
                    leader.withLock { $0 = hint == dead ? nil : hint }
                    if hint == nil || hint == dead { try await findLeader(excluding: dead) }
                } catch {
                    leader.withLock { if $0 == target { $0 = nil } }
                    try await findLeader(excluding: dead)
                }
            }
            throw CLIError("no write succeeded before the deadline")
        }

        private func findLeader(excluding dead: UInt64?) async throws {
            for (id, node) in nodes where id != dead {
                if let status = try? await NakshaActorSystem.$callTimeout.withValue(.milliseconds(300), operation: { try await node.status() }),
                    let leader = status.leader, leader != dead
                {
                    self.leader.withLock { $0 = leader }
                    return
                }
            }
            try await Task.sleep(for: .milliseconds(5))
        }

        struct LoadResult {
            var latencies: [Int64]
            var errors: Int
        }

        func load(clients: Int, valueSize: Int, duration: Duration) async throws -> LoadResult {
            let value = [UInt8](repeating: 0x61, count: valueSize)
            let end = ContinuousClock.now + duration
            return try await withThrowingTaskGroup(of: LoadResult.self) { group in
                for client in 0..<clients {
                    group.addTask {
                        var latencies: [Int64] = []
                        var errors = 0
                        var sequence = 0
                        while ContinuousClock.now < end {
                            let command = try KeyValueStateMachine.encode(.put(key: "bench-\(client)-\(sequence)", value: value))
                            sequence += 1
                            let started = ContinuousClock.now
                            do {
                                try await self.write(command, deadline: started + .seconds(10))
                                let finished = ContinuousClock.now
                                if finished <= end { latencies.append((finished - started).inNanoseconds) }
                            } catch {
                                errors += 1
                            }
                        }
                        return LoadResult(latencies: latencies, errors: errors)
                    }
                }
                var total = LoadResult(latencies: [], errors: 0)
                for try await part in group {
                    total.latencies += part.latencies
                    total.errors += part.errors
                }
                return total
            }
        }

        /// Kills the leader, times the first successful write at another member, then
        /// restarts the killed member and waits until it is ready again.
        func failover(cluster: LocalCluster, valueSize: Int) async throws -> Double {
            try await write(try KeyValueStateMachine.encode(.put(key: "failover-probe", value: [])), deadline: .now + .seconds(10))
            try await findLeader(excluding: nil)
            guard let victim = leader.withLock({ $0 }) else { throw CLIError("no leader to kill") }
            let command = try KeyValueStateMachine.encode(.put(key: "failover", value: [UInt8](repeating: 0x62, count: valueSize)))
            let killed = ContinuousClock.now
            cluster.kill9(victim)
            leader.withLock { $0 = nil }
            try await write(command, deadline: killed + .seconds(30), excluding: victim)
            let elapsed = ContinuousClock.now - killed
            try cluster.start(victim)
            try await cluster.waitUntilReady()
            return elapsed.inSeconds * 1000
        }
    }
}
