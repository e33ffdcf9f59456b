import Distributed
import Foundation
import NakshaActors
import NakshaCoordinator
import NakshaCore
import NakshaRaft
import RaftCore
import ServiceLifecycle
import Synchronization
import Testing

/// Leader-only loops are fenced by term (issue 14, item 3).
@Suite(.serialized) struct LeaderLoopTests {
    /// What the loops did: (node, term, event) in order.
    final class Journal: Sendable {
        let events = Mutex<[(node: UInt64, term: UInt64, event: String)]>([])
        func add(_ node: UInt64, _ term: UInt64, _ event: String) { events.withLock { $0.append((node, term, event)) } }
        func running() -> [(node: UInt64, term: UInt64)] {
            events.withLock { events in
                var open: [String: (UInt64, UInt64)] = [:]
                for event in events {
                    let key = "\(event.node)/\(event.term)"
                    if event.event == "start" { open[key] = (event.node, event.term) } else { open[key] = nil }
                }
                return open.values.map { (node: $0.0, term: $0.1) }
            }
        }
    }

    static func waitFor(timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    @Test("a leader-only loop runs on the leader alone, stops when leadership moves, and its stale-term writes are refused")
    func loopFollowsLeadershipAndIsFenced() async throws {
        var systems: [UInt64: NakshaActorSystem] = [:]
        var addresses: [UInt64: NodeAddress] = [:]
        for id: UInt64 in 1...3 {
            let system = try await NakshaActorSystem.start(ActorSystemConfiguration(rebuildableErrors: [RaftError.self]))
            systems[id] = system
            addresses[id] = system.address
        }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("naksha-leaderloop-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let options = RaftNode.Options(tickInterval: .milliseconds(10), electionTimeoutTicks: 30)
        var nodes: [UInt64: RaftNode] = [:]
        for id: UInt64 in 1...3 {
            nodes[id] = try RaftNode.start(
                id: id, peers: addresses, directory: "\(root)/\(id)", machine: KeyValueStateMachine(), options: options, system: systems[id]!)
        }
        let journal = Journal()
        let cancelled = Mutex(0)
        var loops: [Task<Void, any Error>] = []
        var clocks: [Task<Void, Never>] = []
        for (id, node) in nodes {
            clocks.append(Task { _ = await node.whenLocal { await $0.run() } })
            let loop = LeaderLoop(name: "test", node: node, pollInterval: .milliseconds(10)) { term in
                journal.add(id, term, "start")
                do {
                    try await Task.sleep(for: .seconds(3600))
                } catch {
                    journal.add(id, term, "stop")
                    cancelled.withLock { $0 += 1 }
                    throw error
                }
            }
            loops.append(Task { try await loop.run() })
        }
        // Exactly one loop runs, on the leader, in its term.
        #expect(try await Self.waitFor { journal.running().count == 1 })
        let first = journal.running().first
        let firstTerm = first?.term ?? 0
        let leaderID = try #require(first?.node)
        let leader = try #require(nodes[leaderID])
        let leaderStatus = try await leader.status()
        #expect(leaderStatus.role == "leader" && leaderStatus.term == firstTerm)

        // Leadership moves: the old loop is cancelled, the new leader's starts in the new term.
        let target = try #require(nodes.keys.sorted().first { $0 != leaderID })
        try await leader.transferLeadership(to: target)
        #expect(try await Self.waitFor { journal.running().map(\.node) == [target] })
        #expect(cancelled.withLock { $0 } >= 1, "the old leader's loop was cancelled")
        let second = try #require(journal.running().first)
        #expect(second.term > firstTerm)

        // A write fenced by the old term is refused on the old leader, with nothing appended.
        do {
            _ = try await leader.whenLocal { node in
                try await node.propose(
                    try KeyValueStateMachine.encode(.put(key: "stale", value: [1])), machine: RaftNode.primaryMachineTag,
                    requestID: RequestID(client: 9, sequence: 1), asLeaderOf: firstTerm)
            }
            Issue.record("a write fenced by a stale term was accepted")
        } catch let error as RaftError {
            #expect(error.code == .notLeader)
        }
        // And the new leader's fenced write in its own term is accepted.
        let newLeader = try #require(nodes[target])
        let result = try await newLeader.whenLocal { node in
            try await node.propose(
                try KeyValueStateMachine.encode(.put(key: "fresh", value: [1])), machine: RaftNode.primaryMachineTag,
                requestID: RequestID(client: 9, sequence: 2), asLeaderOf: second.term)
        }
        #expect(result == Array("ok".utf8))

        for loop in loops { loop.cancel() }
        for clock in clocks { clock.cancel() }
        for loop in loops { _ = try? await loop.value }
        for clock in clocks { await clock.value }
        for system in systems.values { await system.shutdown() }
    }
}
