import Distributed
import Foundation
import NakshaActors
import NakshaRaft
import NakshaWire
import RaftCore
import MetricsTestKit
import Testing

/// Three `RaftNode`s on three actor systems over loopback TCP, each with its own data
/// directory: the real shell around the simulated-tested core.
@Suite(.serialized) struct RaftNodeTests {
    final class Cluster {
        var systems: [NakshaActorSystem] = []
        var nodes: [UInt64: RaftNode] = [:]
        var runners: [UInt64: Task<Void, Never>] = [:]
        var directories: [UInt64: String] = [:]
        var addresses: [UInt64: NodeAddress] = [:]
        var metrics: [UInt64: TestMetrics] = [:]
        let options: RaftNode.Options

        init(options: RaftNode.Options = RaftNode.Options(tickInterval: .milliseconds(10), electionTimeoutTicks: 30, snapshotEveryEntries: 150)) {
            self.options = options
        }

        func start() async throws {
            for id: UInt64 in 1...3 {
                let system = try await NakshaActorSystem.start(ActorSystemConfiguration(rebuildableErrors: [RaftError.self]))
                systems.append(system)
                addresses[id] = system.address
                directories[id] = try makeTemporaryDirectory()
            }
            for id: UInt64 in 1...3 { try startNode(id) }
        }

        func startNode(_ id: UInt64) throws {
            let system = systems[Int(id) - 1]
            let testMetrics = TestMetrics()
            metrics[id] = testMetrics
            let node = try RaftNode.start(
                id: id, peers: addresses, directory: directories[id]!, machine: KeyValueStateMachine(), options: options,
                metrics: RaftMetrics(factory: testMetrics), system: system)
            nodes[id] = node
            runners[id] = Task { _ = await node.whenLocal { await $0.run() } }
        }

        /// Stops node `id` as a crash would (its actor is released; its directory stays).
        func stopNode(_ id: UInt64, waitForRelease: Bool = true) async {
            nodes[id] = nil
            if let runner = runners.removeValue(forKey: id) {
                runner.cancel()
                await runner.value
            }
            // The name `raft` is free again once the actor is gone (calls that were running
            // on it hold it until they finish).
            guard waitForRelease else { return }
            let system = systems[Int(id) - 1]
            _ = try? await RaftNodeTests.waitFor {
                (try? system.resolve(id: .wellKnown("raft", on: system.address), as: RaftNode.self)) == nil
            }
        }

        /// The leader, once there is one (the test fails if none is elected in 20 s).
        func waitForLeader() async throws -> RaftNode {
            var leader: RaftNode? = nil
            _ = try await RaftNodeTests.waitFor {
                leader = try await self.leader()
                return leader != nil
            }
            return try #require(leader, "no leader was elected")
        }

        func leader() async throws -> RaftNode? {
            for node in nodes.values where try await node.status().role == "leader" { return node }
            return nil
        }

        /// Proposes at whichever node leads now, following leader changes, as a client does.
        func propose(_ command: [UInt8]) async throws -> [UInt8] {
            let deadline = ContinuousClock.now + .seconds(30)
            while true {
                do {
                    if let leader = try await leader() { return try await leader.propose(command) }
                } catch let error as RaftError where error.code == .notLeader && ContinuousClock.now < deadline {
                    // fall through: find the new leader
                }
                if ContinuousClock.now >= deadline { throw RaftError.notLeader(leaderHint: nil) }
                try await Task.sleep(for: .milliseconds(20))
            }
        }

        func stop() async {
            for runner in runners.values { runner.cancel() }
            nodes.removeAll()
            for system in systems { await system.shutdown() }
            for directory in directories.values { try? FileManager.default.removeItem(atPath: directory) }
        }
    }

    static func put(_ key: String, _ value: String) throws -> [UInt8] {
        try BinaryEncoder().encode(KeyValueStateMachine.Command.put(key: key, value: Array(value.utf8)))
    }

    static func waitFor(timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    @Test func threeNodesElectALeaderReplicateAndSnapshot() async throws {
        let cluster = Cluster()
        try await cluster.start()
        _ = try await cluster.waitForLeader()
        for index in 0..<400 {
            let result = try await cluster.propose(Self.put("key-\(index)", "value-\(index)"))
            #expect(result == Array("ok".utf8))
        }
        // Every replica applies all 400 (and compacted its log past the snapshot threshold).
        for node in cluster.nodes.values {
            // 400 commands plus one empty entry per leader term.
            #expect(try await Self.waitFor {
                await node.whenLocal { $0.readLocal { ($0 as? KeyValueStateMachine)?.values.count ?? -1 } } == 400
            })
            #expect(try await node.status().appliedIndex > 400)
        }
        // A linearizable read at the leader sees every acknowledged write.
        let linearizable = try await cluster.leader()?.whenLocal { try await $0.linearizableRead { ($0 as? KeyValueStateMachine)?.values.count ?? -1 } }
        #expect(linearizable == 400)
        // A follower refuses proposals and names the leader.
        let leaderID = try #require(try await cluster.leader()?.status().id)
        let follower = try #require(cluster.nodes.first { $0.key != leaderID }?.value)
        do {
            _ = try await follower.propose(Self.put("x", "y"))
            Issue.record("a follower accepted a proposal")
        } catch let error as RaftError {
            #expect(error.code == .notLeader)
            #expect(error.leaderHint?.rawValue == leaderID)
        }
        _ = follower
        // The distributed interface works remotely too (allow-list kept exact here).
        let client = try await NakshaActorSystem.start()
        let remote = try RaftNode.resolve(id: .wellKnown("raft", on: cluster.addresses[leaderID]!), using: client)
        #expect(try await remote.status().id == leaderID)
        #expect(try await remote.propose(Self.put("remote", "1")) == Array("ok".utf8))
        #expect(RaftNode.remoteCalls.count == 8)  // the others: RaftNodeAdminTests
        await client.shutdown()
        await cluster.stop()
    }

    @Test func aRestartedNodeRecoversItsStateFromDisk() async throws {
        let cluster = Cluster()
        try await cluster.start()
        _ = try await cluster.waitForLeader()
        for index in 0..<250 { _ = try await cluster.propose(Self.put("k\(index)", "v")) }
        for node in cluster.nodes.values {
            #expect(try await Self.waitFor {
                await node.whenLocal { $0.readLocal { ($0 as? KeyValueStateMachine)?.values.count ?? -1 } } == 250
            })
        }
        // Stop everything, then start node 1 alone from its directory.
        for runner in cluster.runners.values { runner.cancel() }
        for runner in cluster.runners.values { await runner.value }
        cluster.runners.removeAll()
        // A new process for node 1: a new actor system (new incarnation) on its old directory.
        let newSystem = try await NakshaActorSystem.start()
        cluster.systems.append(newSystem)
        let restarted = try RaftNode.start(
            id: 1, peers: cluster.addresses, directory: cluster.directories[1]!, machine: KeyValueStateMachine(),
            options: cluster.options, system: newSystem)
        let status = try await restarted.status()
        #expect(status.term >= 1)
        #expect(status.appliedIndex >= 150, "restored from the snapshot at least")
        // Its state machine holds at least what the snapshot covered.
        let restoredCount = await restarted.whenLocal { $0.readLocal { ($0 as? KeyValueStateMachine)?.values.count ?? -1 } } ?? -1
        #expect(restoredCount >= 140)
        await cluster.stop()
    }
}
