import RaftCore
import Testing

/// Snapshot transfers the shell streams in chunks are reported back (etcd's ReportSnapshot):
/// a transfer in progress is never restarted by the election-timeout retry.
@Suite struct SnapshotStreamTests {
    /// A leader (node 1 of 3) that compacted past node 3 and has just sent it a snapshot.
    private func leaderSendingASnapshot() throws -> (leader: RaftCore, installs: Int) {
        var cluster = TestCluster(voters: 3)
        cluster.nodes[1]?.elect()
        cluster.deliverAll()
        cluster.isolated = [3]
        for value: UInt8 in 0..<5 { _ = try cluster.nodes[1]?.propose([value]) }
        cluster.deliverAll()
        _ = try cluster.nodes[1]?.compact(through: 5, snapshotData: [9])
        var leader = try #require(cluster.nodes[1])
        let installs = try Self.installsAfterNodeThreeAnswers(&leader)
        return (leader, installs)
    }

    /// Node 3, which holds only index 1, answers: it rejects the leader's last append (so a
    /// leader in probe or replicate state goes back and finds the entries compacted) and
    /// acknowledges a heartbeat. Returns the InstallSnapshot messages sent to it.
    static func installsAfterNodeThreeAnswers(_ leader: inout RaftCore) throws -> Int {
        try leader.step(Fixture.message(3, 1, term: leader.term, .heartbeatResponse(readSequence: 0)))
        var installs = 0
        var outgoing = leader.sent()
        // Node 3 rejects every append it gets (it holds only index 1), as a real follower would.
        for _ in 0..<5 {
            installs += Self.installs(in: outgoing)
            let appends = outgoing.compactMap { message -> AppendEntries? in
                if case .appendEntries(let append) = message.kind, message.to == 3 { return append }
                return nil
            }
            guard let last = appends.last else { break }
            let rejection = AppendEntriesResponse(success: false, index: last.prevLogIndex, conflictIndex: 2, conflictTerm: 0)
            try leader.step(Fixture.message(3, 1, term: leader.term, .appendEntriesResponse(rejection)))
            outgoing = leader.sent()
        }
        return installs
    }

    static func installs(in messages: [RaftMessage]) -> Int {
        messages.filter { message in
            if case .installSnapshot = message.kind, message.to == 3 { return true }
            return false
        }.count
    }

    static func installsWhileTicking(_ leader: inout RaftCore, ticks: Int) throws -> Int {
        var installs = 0
        for _ in 0..<ticks {
            leader.tick()
            installs += Self.installs(in: leader.sent())
            installs += try installsAfterNodeThreeAnswers(&leader)
        }
        return installs
    }

    @Test("an unreported snapshot stream is not restarted after an election timeout (15 timeouts pass)")
    func unreportedStreamIsNotRestarted() throws {
        var (leader, installs) = try leaderSendingASnapshot()
        #expect(installs == 1)
        #expect(try Self.installsWhileTicking(&leader, ticks: 15 * 10) == 0)
    }

    @Test("a stream reported failed is sent again at once")
    func failedStreamIsResent() throws {
        var (leader, _) = try leaderSendingASnapshot()
        leader.reportSnapshot(to: 3, finished: false)
        // The leader probes again; node 3 still lacks the compacted prefix: a new snapshot.
        #expect(try Self.installsAfterNodeThreeAnswers(&leader) == 1)
    }

    @Test("a stream reported finished that the follower never acknowledges is retried one election timeout later")
    func finishedButUnacknowledgedStreamIsRetried() throws {
        var (leader, _) = try leaderSendingASnapshot()
        leader.reportSnapshot(to: 3, finished: true)
        #expect(try Self.installsWhileTicking(&leader, ticks: 5) == 0)
        #expect(try Self.installsWhileTicking(&leader, ticks: 10) >= 1)
    }

    @Test("an unreported stream is presumed lost after snapshotStreamTimeoutTicks")
    func unreportedStreamTimesOut() throws {
        var (leader, _) = try leaderSendingASnapshot()
        #expect(try Self.installsWhileTicking(&leader, ticks: 10 * 20 + 5) >= 1)
    }
}
