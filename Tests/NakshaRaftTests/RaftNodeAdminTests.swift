import Distributed
import Foundation
import MetricsTestKit
import NakshaActors
import NakshaRaft
import RaftCore
import Testing

/// Catch-up by chunked snapshot, membership changes and leader transfer on three (then
/// four) `RaftNode`s over loopback TCP.
@Suite(.serialized) struct RaftNodeAdminTests {
    typealias Cluster = RaftNodeTests.Cluster

    static func count(_ node: RaftNode) async -> Int {
        await node.whenLocal { $0.readLocal { ($0 as? KeyValueStateMachine)?.values.count ?? -1 } } ?? -1
    }

    /// Runs `body` at the current leader, again at the new one if leadership moved meanwhile.
    static func retryingAtTheLeader(_ cluster: Cluster, _ body: (RaftNode) async throws -> Void) async throws {
        for attempt in 0..<5 {
            do {
                return try await body(try await cluster.waitForLeader())
            } catch let error as RaftError where error.code == .notLeader && attempt < 4 {
                continue
            }
        }
    }

    @Test func aNodeBehindCompactionCatchesUpThroughAChunkedSnapshot() async throws {
        let cluster = Cluster(
            options: RaftNode.Options(tickInterval: .milliseconds(10), electionTimeoutTicks: 30, snapshotEveryEntries: 100, snapshotChunkBytes: 512))
        try await cluster.start()
        _ = try await cluster.waitForLeader()
        await cluster.stopNode(3)
        let value = String(repeating: "v", count: 200)
        for index in 0..<300 { _ = try await cluster.propose(try RaftNodeTests.put("key-\(index)", value)) }
        let leader = try await cluster.waitForLeader()
        // The leader compacted past what node 3 has, so node 3 can only catch up by snapshot
        // (about 70 kB here: well over a hundred 512-byte chunks).
        #expect(try await leader.status().snapshotIndex >= 100)

        try cluster.startNode(3)
        let node3 = try #require(cluster.nodes[3])
        #expect(try await RaftNodeTests.waitFor { await Self.count(node3) == 300 })
        let installs = try cluster.metrics[3]!.expectTimer("naksha_raft_snapshot_duration_seconds", [("kind", "installed")])
        #expect(installs.values.count >= 1)
        #expect(try await node3.status().snapshotIndex >= 100)
        // And it keeps up with new writes afterwards.
        _ = try await cluster.propose(try RaftNodeTests.put("after", "1"))
        #expect(try await RaftNodeTests.waitFor { await Self.count(node3) == 301 })
        await cluster.stop()
    }

    @Test func aNodeRestartedBeforeAnySnapshotKeepsItsMembershipAndRejoins() async throws {
        let cluster = Cluster(options: RaftNode.Options(tickInterval: .milliseconds(10), electionTimeoutTicks: 30, snapshotEveryEntries: 10_000))
        try await cluster.start()
        for index in 0..<20 { _ = try await cluster.propose(try RaftNodeTests.put("k\(index)", "v")) }
        await cluster.stopNode(1)
        try cluster.startNode(1)
        let node1 = try #require(cluster.nodes[1])
        // The bootstrap membership lives in the (never saved) index-0 snapshot: a restart
        // from the log alone must still know the group.
        #expect(try await node1.status().members.map(\.id).sorted() == [1, 2, 3])
        #expect(try await RaftNodeTests.waitFor { try await node1.status().ready })
        // Ready means caught up with the commit index it saw when it found the leader; the
        // rest follows from the leader.
        #expect(try await RaftNodeTests.waitFor { await Self.count(node1) == 20 })
        await cluster.stop()
    }

    @Test func aLearnerJoinsIsPromotedLeadershipMovesToItAndAMemberIsRemoved() async throws {
        let cluster = Cluster()
        try await cluster.start()
        for index in 0..<50 { _ = try await cluster.propose(try RaftNodeTests.put("k\(index)", "v")) }

        // Node 4: a new process (actor system) and an empty directory, started to join.
        // It is told where the members are (as `--peers` does); they learn its address from
        // the log when the leader adds it.
        let system4 = try await NakshaActorSystem.start(ActorSystemConfiguration(rebuildableErrors: [RaftError.self]))
        cluster.systems.append(system4)
        cluster.directories[4] = try makeTemporaryDirectory()
        let node4 = try RaftNode.start(
            id: 4, peers: cluster.addresses.merging([4: system4.address]) { old, _ in old }, directory: cluster.directories[4]!, machine: KeyValueStateMachine(), join: true,
            options: cluster.options, system: system4)
        cluster.nodes[4] = node4
        cluster.runners[4] = Task { _ = await node4.whenLocal { await $0.run() } }
        #expect(try await node4.status().ready == false, "a joining node is not ready before it is a member")

        // Asked at a follower, a change is refused with the leader's id.
        let leader = try await cluster.waitForLeader()
        let leaderID = try await leader.status().id
        let follower = try #require(cluster.nodes.first { $0.key != leaderID && $0.key != 4 }?.value)
        do {
            try await follower.changeMembership(.addLearner(id: 4, address: system4.address))
            Issue.record("a follower accepted a membership change")
        } catch let error as RaftError {
            #expect(error.code == .notLeader && error.leaderHint?.rawValue == leaderID)
        }

        // Through a remote proxy, as the CLI's coordinator does.
        let client = try await NakshaActorSystem.start(ActorSystemConfiguration(rebuildableErrors: [RaftError.self]))
        let remoteLeader = try RaftNode.resolve(id: .wellKnown("raft", on: cluster.addresses[leaderID]!), using: client)
        try await remoteLeader.changeMembership(.addLearner(id: 4, address: system4.address))
        #expect(try await RaftNodeTests.waitFor { await Self.count(node4) == 50 })
        var status = try await remoteLeader.status()
        #expect(status.members.first { $0.id == 4 }?.role == "learner")
        #expect(status.members.first { $0.id == 4 }?.address == "\(system4.address)")

        try await remoteLeader.changeMembership(.promote(id: 4))
        status = try await remoteLeader.status()
        #expect(status.members.filter { $0.role == "voter" }.map(\.id).sorted() == [1, 2, 3, 4])
        #expect(try await RaftNodeTests.waitFor { try await node4.status().ready })

        // Leadership moves to the new voter, which then removes the old leader.
        // A transfer can end in an ordinary election (a split vote among four voters); an
        // operator then asks again, and so does the test, at whichever node leads.
        var transferred = false
        for _ in 0..<5 where !transferred {
            let current = try await cluster.waitForLeader()
            do {
                try await current.transferLeadership(to: 4)
                transferred = true
            } catch let error as RaftError where error.code == .leaderTransferInProgress || error.code == .notLeader {
                continue
            }
        }
        #expect(transferred)
        #expect(try await node4.status().role == "leader")
        try await Self.retryingAtTheLeader(cluster) { try await $0.changeMembership(.remove(id: leaderID)) }
        status = try await cluster.waitForLeader().status()
        #expect(status.members.map(\.id).sorted() == [1, 2, 3, 4].filter { $0 != leaderID })
        // The smaller group still commits.
        _ = try await cluster.propose(try RaftNodeTests.put("after-removal", "1"))
        #expect(try await RaftNodeTests.waitFor { await Self.count(node4) == 51 })

        // A promotion of a node that is not a learner is refused with a reason.
        do {
            try await cluster.waitForLeader().changeMembership(.promote(id: 9))
            Issue.record("promoted a stranger")
        } catch let error as RaftError {
            #expect(error.code == .invalidMembershipChange)
        }
        await client.shutdown()
        await cluster.stop()
    }

    @Test func raftNodeAllowListIsExact() async throws {
        let cluster = Cluster()
        try await cluster.start()
        let leader = try await cluster.waitForLeader()
        let leaderID = try await leader.status().id
        let client = try await NakshaActorSystem.start(ActorSystemConfiguration(rebuildableErrors: [RaftError.self]))
        let remote = try RaftNode.resolve(id: .wellKnown("raft", on: cluster.addresses[leaderID]!), using: client)
        // Every distributed function, called remotely, is accepted by the allow-list.
        _ = try await remote.status()
        _ = try await remote.propose(try RaftNodeTests.put("a", "b"))
        #expect(try await remote.readIndex() >= 2)
        try await remote.deliver([0])  // an empty batch
        // Hostile bytes are a typed error for the caller and change nothing.
        for garbage: [UInt8] in [[], [5], [1, 1, 2, 3, 4, 99], [1] + Array(repeating: 0xFF, count: 12), Array(0..<64)] {
            do {
                try await remote.deliver(garbage)
                Issue.record("accepted garbage \(garbage)")
            } catch let error as RemoteCallError {
                #expect(error.code == .remoteError, "\(error)")
            }
        }
        #expect(try await remote.status().role == "leader")
        let chunk = SnapshotChunk(
            streamID: 1, from: 9, to: 8, term: 0, metadata: SnapshotMetadata(index: 0, term: 0, membership: Membership()), offset: 0, totalBytes: 0,
            bytes: [])
        try await remote.installSnapshotChunk(chunk)  // misaddressed: ignored
        try await remote.transferLeadership(to: leaderID)  // already the leader: nothing to do
        do {
            try await remote.changeMembership(.remove(id: leaderID))
        } catch let error as RaftError {
            #expect(error.code == .invalidMembershipChange)
        }
        #expect(RaftNode.remoteCalls.count == 8)

        // A follower forwards a proposal to the leader and serves a linearizable read after
        // asking the leader for its read index.
        let follower = try #require(cluster.nodes.first { $0.key != leaderID }?.value)
        let result = await follower.whenLocal { try? await $0.submit(try RaftNodeTests.put("via-follower", "1")) }
        #expect(result == Array("ok".utf8))
        let seen = await follower.whenLocal {
            try? await $0.linearizableRead { ($0 as? KeyValueStateMachine)?.values["via-follower"] }
        }
        #expect(seen == .some(.some(Array("1".utf8))))
        await client.shutdown()
        await cluster.stop()
    }
}

/// Many proposals in flight while the leader compacts: every one is answered.
@Suite(.serialized) struct RaftNodeConcurrencyTests {
    @Test func concurrentProposalsAcrossCompactionsAllComplete() async throws {
        let cluster = RaftNodeTests.Cluster(
            options: RaftNode.Options(tickInterval: .milliseconds(10), electionTimeoutTicks: 30, snapshotEveryEntries: 100))
        try await cluster.start()
        let leader = try await cluster.waitForLeader()
        let completed = try await withThrowingTaskGroup(of: Int.self) { group in
            for client in 0..<32 {
                group.addTask {
                    var done = 0
                    for index in 0..<25 {
                        let command = try RaftNodeTests.put("c\(client)-\(index)", "v")
                        let result = try await NakshaActorSystem.$callTimeout.withValue(.seconds(10)) { try await leader.propose(command) }
                        if result == Array("ok".utf8) { done += 1 }
                    }
                    return done
                }
            }
            var total = 0
            for try await done in group { total += done }
            return total
        }
        #expect(completed == 32 * 25)
        // Snapshots are written in the background; the last one lands shortly after.
        #expect(try await RaftNodeTests.waitFor(timeout: .seconds(30)) { (try? await leader.status().snapshotIndex) ?? 0 >= 700 })
        await cluster.stop()
    }
}

/// States larger than one frame's collection limit (16 Mi elements) snapshot and restore.
@Suite(.serialized) struct LargeSnapshotTests {
    @Test func aStateOfMoreThanSixteenMebibytesRoundTripsThroughItsSnapshot() throws {
        var machine = KeyValueStateMachine()
        _ = machine.apply(try KeyValueStateMachine.encode(.put(key: "big", value: [UInt8](repeating: 7, count: 17 << 20))), context: .test(index: 1))
        var restored = KeyValueStateMachine()
        try restored.restore(machine.snapshot())
        #expect(restored == machine)
    }

    @Test func aNodeRestartsFromASnapshotOfMoreThanSixteenMebibytes() async throws {
        let cluster = RaftNodeTests.Cluster(
            options: RaftNode.Options(tickInterval: .milliseconds(10), electionTimeoutTicks: 100, snapshotEveryEntries: 4))
        try await cluster.start()
        // Five values of 3.5 MiB: each under maxCommandBytes (4 MiB), together over 16 Mi.
        let big = [UInt8](repeating: 1, count: 7 << 19)
        let bigKeys = ["a", "b", "c", "d", "e"]
        for key in bigKeys {
            _ = try await cluster.propose(try KeyValueStateMachine.encode(.put(key: key, value: big)))
        }
        for index in 0..<4 { _ = try await cluster.propose(try RaftNodeTests.put("k\(index)", "v")) }
        let node2 = try #require(cluster.nodes[2])
        #expect(try await RaftNodeTests.waitFor(timeout: .seconds(60)) { await RaftNodeAdminTests.count(node2) == 9 })
        #expect(
            try await RaftNodeTests.waitFor(timeout: .seconds(60)) { (try? await node2.status().snapshotIndex) ?? 0 >= 8 },
            "the 18 MB state was snapshotted")
        await cluster.stopNode(2, waitForRelease: false)
        // A new process for node 2 (a new actor system) on its directory: the state comes
        // back from the 18 MB snapshot (and the log after it) before anything else happens.
        let system = try await NakshaActorSystem.start()
        cluster.systems.append(system)
        let restarted = try RaftNode.start(
            id: 2, peers: cluster.addresses, directory: cluster.directories[2]!, machine: KeyValueStateMachine(),
            options: cluster.options, system: system)
        // Restored from its own snapshot at start (entries after it apply once the node runs).
        let sizes = await restarted.whenLocal { node in
            node.readLocal { machine in bigKeys.map { (machine as? KeyValueStateMachine)?.values[$0]?.count ?? 0 } }
        }
        #expect(sizes == Array(repeating: 7 << 19, count: 5))
        await cluster.stop()
    }
}
