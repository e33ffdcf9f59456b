import Distributed
import Foundation
import NakshaActors
@testable import NakshaRaft
import RaftCore
import Testing

/// Every local call ends, and nothing a caller can send is too big to replicate (issue 14,
/// 1h and 1j), on three `RaftNode`s over loopback TCP.
@Suite(.serialized) struct RaftNodeWaiterTests {
    typealias Cluster = RaftNodeTests.Cluster

    static func options(requestTimeout: Duration) -> RaftNode.Options {
        var options = RaftNode.Options(tickInterval: .milliseconds(10), electionTimeoutTicks: 30, snapshotEveryEntries: 10_000)
        options.requestTimeout = requestTimeout
        return options
    }

    /// Three nodes, then both followers stopped: a leader that can no longer reach a quorum.
    static func leaderWithoutFollowers(requestTimeout: Duration) async throws -> (Cluster, RaftNode) {
        let cluster = Cluster(options: options(requestTimeout: requestTimeout))
        try await cluster.start()
        let leader = try await cluster.waitForLeader()
        let leaderID = try await leader.status().id
        for id in cluster.nodes.keys.sorted() where id != leaderID { await cluster.stopNode(id) }
        return (cluster, leader)
    }

    @Test("a proposal that cannot commit ends with outcomeUnknown at its deadline, not never")
    func proposalWithoutQuorumEndsAtItsDeadline() async throws {
        let (cluster, leader) = try await Self.leaderWithoutFollowers(requestTimeout: .milliseconds(600))
        let started = ContinuousClock.now
        do {
            _ = try await leader.propose(try RaftNodeTests.put("alone", "v"))
            Issue.record("a proposal without a quorum was acknowledged")
        } catch let error as RaftError {
            // In the log but never committed: the caller must not assume either outcome.
            #expect(error.code == .outcomeUnknown || error.code == .notLeader, "\(error)")
        }
        #expect(ContinuousClock.now - started < .seconds(5), "the proposal waited past its deadline")
        await cluster.stop()
    }

    @Test("a read pending at a leader that loses its quorum fails instead of waiting forever")
    func readPendingAtALeaderThatLosesItsQuorumFails() async throws {
        let (cluster, leader) = try await Self.leaderWithoutFollowers(requestTimeout: .seconds(3))
        let started = ContinuousClock.now
        do {
            _ = try await leader.readIndex()
            Issue.record("a read index was confirmed without a quorum")
        } catch let error as RaftError {
            #expect(error.code == .notLeader || error.code == .deadlineExceeded, "\(error)")
        }
        #expect(ContinuousClock.now - started < .seconds(8), "the read waited past its deadline")
        await cluster.stop()
    }

    @Test("a command over maxCommandBytes is refused at propose with commandTooLarge and nothing is appended")
    func oversizedCommandIsRefused() async throws {
        let cluster = Cluster(options: Self.options(requestTimeout: .seconds(10)))
        try await cluster.start()
        let leader = try await cluster.waitForLeader()
        let before = try await leader.status().lastIndex
        let huge = try KeyValueStateMachine.encode(.put(key: "huge", value: [UInt8](repeating: 1, count: 5 << 20)))
        do {
            _ = try await leader.propose(huge)
            Issue.record("a 5 MiB command was accepted")
        } catch let error as RaftError {
            #expect(error.code == .commandTooLarge, "\(error)")
        }
        #expect(try await leader.status().lastIndex == before)
        await cluster.stop()
    }

    /// A follower that was down while 24 commands of 1 MiB committed comes back: the leader
    /// catches it up with a pipelined burst of 24 AppendEntries in one ready, 24 MiB for that
    /// peer, more than one 16 MiB frame. Sent as one call it fails on every retry and the
    /// follower never catches up; split into batches below the frame limit, it does.
    @Test("a follower catching up on more than a frame's worth of entries receives them all")
    func catchUpLargerThanAFrameArrives() async throws {
        let cluster = Cluster(options: Self.options(requestTimeout: .seconds(60)))
        try await cluster.start()
        let leader = try await cluster.waitForLeader()
        let leaderID = try await leader.status().id
        let lagging = try #require(cluster.nodes.keys.sorted().first { $0 != leaderID })
        await cluster.stopNode(lagging)
        var generator = SystemRandomNumberGenerator()
        let value = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }  // incompressible
        for index in 0..<24 {
            _ = try await leader.propose(try KeyValueStateMachine.encode(.put(key: "big-\(index)", value: value)))
        }
        try cluster.startNode(lagging)
        let node = try #require(cluster.nodes[lagging])
        #expect(try await RaftNodeTests.waitFor(timeout: .seconds(30)) { await RaftNodeAdminTests.count(node) == 24 })
        await cluster.stop()
    }

    @Test("peer batches are split below the frame limit, in order")
    func batchesAreSplitInOrder() {
        let entry = { (index: UInt64) in LogEntry(term: 1, index: index, payload: .command([UInt8](repeating: 0, count: 3 << 20))) }
        let messages = (1...6).map { index in
            RaftMessage(
                from: 1, to: 2, term: 1,
                kind: .appendEntries(AppendEntries(prevLogIndex: UInt64(index - 1), prevLogTerm: 1, entries: [entry(UInt64(index))], leaderCommit: 0)))
        }
        let groups = RaftNode.batches(messages, maxBytes: RaftNode.maxBatchBytes)
        #expect(groups.count == 3)
        #expect(groups.flatMap { $0 } == messages)
        #expect(groups.allSatisfy { group in group.map(RaftNode.approximateBytes).reduce(0, +) <= RaftNode.maxBatchBytes })
    }
}
