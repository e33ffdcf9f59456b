import RaftCore
import Testing

/// Raft paper §6 (membership, as single-server changes from the thesis §4.1) and §7 (log
/// compaction and InstallSnapshot).
@Suite("Raft paper §6-7: membership changes and snapshots")
struct PaperMembershipAndSnapshotTests {
    private func leaderWithCommittedTermEntry() -> TestCluster {
        var cluster = TestCluster(voters: 3)
        cluster.nodes[1]?.elect()
        cluster.deliverAll()
        return cluster
    }

    @Test("§6: a membership change takes effect on a server as soon as it is in its log")
    func changeEffectiveOnAppend() throws {
        var cluster = leaderWithCommittedTermEntry()
        try cluster.nodes[1]?.proposeMembershipChange(.addLearner(4))
        #expect(cluster.nodes[1]?.membership.learners == [4])
        #expect(cluster.nodes[1]?.commitIndex == 1)
    }

    @Test("§6: only one membership change may be pending at a time")
    func onePendingChange() throws {
        var cluster = leaderWithCommittedTermEntry()
        try cluster.nodes[1]?.proposeMembershipChange(.addLearner(4))
        #expect(throws: RaftError.membershipChangePending) {
            try cluster.nodes[1]?.proposeMembershipChange(.addLearner(5))
        }
    }

    @Test("§6: a new leader makes no membership change before committing an entry of its term")
    func noChangeBeforeTermCommit() throws {
        var leader = Fixture.node(1)
        leader.elect()
        #expect(throws: RaftError.membershipChangePending) {
            try leader.proposeMembershipChange(.addLearner(4))
        }
    }

    @Test("§6: a learner receives the log but neither votes nor counts towards commit")
    func learnerDoesNotCount() throws {
        var cluster = leaderWithCommittedTermEntry()
        try cluster.nodes[1]?.proposeMembershipChange(.addLearner(4))
        cluster.nodes[4] = RaftCore(configuration: Fixture.configuration(4), state: .joining)
        cluster.deliverAll()
        #expect(cluster.nodes[4]?.lastIndex == 2)
        #expect(cluster.nodes[4]?.membership.learners == [4])
        #expect(cluster.nodes[4]?.isVoter == false)
        // With node 2 and 3 cut off, the learner's acknowledgement does not commit anything.
        cluster.isolated = [2, 3]
        let index = try cluster.nodes[1]?.propose([7])
        cluster.deliverAll()
        #expect(cluster.nodes[4]?.lastIndex == index)
        #expect(cluster.nodes[1]?.commitIndex == 2)
        // A learner never campaigns.
        cluster.nodes[4]?.ticks(100)
        #expect(cluster.nodes[4]?.role == .follower)
    }

    @Test("§6: a learner is promoted only once caught up, and then counts as a voter")
    func promoteCaughtUpLearner() throws {
        var cluster = leaderWithCommittedTermEntry()
        try cluster.nodes[1]?.proposeMembershipChange(.addLearner(4))
        #expect(throws: RaftError.self) {
            try cluster.nodes[1]?.proposeMembershipChange(.promoteLearner(4))
        }
        cluster.nodes[4] = RaftCore(configuration: Fixture.configuration(4), state: .joining)
        cluster.deliverAll()
        try cluster.nodes[1]?.proposeMembershipChange(.promoteLearner(4))
        cluster.deliverAll()
        #expect(cluster.nodes[1]?.membership.voters == [1, 2, 3, 4])
        #expect(cluster.nodes[4]?.isVoter == true)
        #expect(cluster.nodes[4]?.commitIndex == 3)
    }

    @Test("§6: removing a server shrinks the quorum; the leader may not remove itself")
    func removeServer() throws {
        var cluster = leaderWithCommittedTermEntry()
        #expect(throws: RaftError.self) {
            try cluster.nodes[1]?.proposeMembershipChange(.remove(1))
        }
        try cluster.nodes[1]?.proposeMembershipChange(.remove(3))
        cluster.deliverAll()
        #expect(cluster.nodes[1]?.membership.voters == [1, 2])
        cluster.isolated = [3]
        let index = try cluster.nodes[1]?.propose([1])
        cluster.deliverAll()
        #expect(cluster.nodes[1]?.commitIndex == index)
    }

    @Test("§7: compaction keeps the log from the snapshot on; the index must be applied")
    func compaction() throws {
        var cluster = leaderWithCommittedTermEntry()
        for value: UInt8 in 0..<5 { _ = try cluster.nodes[1]?.propose([value]) }
        cluster.deliverAll()
        #expect(throws: RaftError.self) {
            try cluster.nodes[1]?.compact(through: 99, snapshotData: [])
        }
        let snapshot = try cluster.nodes[1]?.compact(through: 4, snapshotData: [1, 2, 3])
        #expect(snapshot?.metadata.index == 4)
        #expect(snapshot?.metadata.term == 1)
        #expect(snapshot?.metadata.membership.voters == [1, 2, 3])
        #expect(cluster.nodes[1]?.firstIndex == 5)
        #expect(cluster.nodes[1]?.term(at: 3) == nil)
    }

    @Test("§7: a follower behind the compacted prefix receives InstallSnapshot and catches up")
    func installSnapshot() throws {
        var cluster = leaderWithCommittedTermEntry()
        cluster.isolated = [3]
        for value: UInt8 in 0..<5 { _ = try cluster.nodes[1]?.propose([value]) }
        cluster.deliverAll()
        _ = try cluster.nodes[1]?.compact(through: 5, snapshotData: [9, 9])
        cluster.isolated = []
        cluster.tickAll(3)
        let follower = try #require(cluster.nodes[3])
        #expect(follower.snapshotIndex == 5)
        #expect(follower.snapshot.data == [9, 9])
        #expect(follower.lastIndex == 6)
        #expect(follower.commitIndex == 6)
    }

    @Test("§7: the installed snapshot is handed out in Ready before later committed entries")
    func snapshotInReady() throws {
        var follower = Fixture.node(2)
        let snapshot = Snapshot(metadata: SnapshotMetadata(index: 10, term: 2, membership: Membership(voters: [1, 2, 3])), data: [5])
        try follower.step(Fixture.message(1, 2, term: 2, .installSnapshot(snapshot)))
        let ready = follower.drain()
        #expect(ready.snapshot == snapshot)
        #expect(ready.committedEntries.isEmpty)
        #expect(ready.messages.last?.kind == .appendEntriesResponse(AppendEntriesResponse(success: true, index: 10)))
        #expect(follower.commitIndex == 10)
    }
}
