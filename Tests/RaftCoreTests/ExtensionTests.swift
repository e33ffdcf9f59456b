import RaftCore
import Testing

/// Features beyond the paper's core (thesis §3.10, §4.2.3, §6.4, §9.6).
@Suite("Pre-vote, check-quorum, leader transfer, ReadIndex")
struct ExtensionTests {
    @Test("thesis §9.6: a pre-candidate does not increment its term and asks with term + 1")
    func preVoteKeepsTerm() {
        var node = Fixture.node(1, configuration: Fixture.configuration(1, preVote: true))
        node.campaign()
        #expect(node.role == .preCandidate)
        #expect(node.term == 0)
        let requests = node.sent()
        #expect(requests.allSatisfy { $0.term == 1 && $0.kind == .preVote(lastLogIndex: 0, lastLogTerm: 0) })
    }

    @Test("a pre-candidate asks voters that have not answered again every heartbeat interval")
    func preCandidateResendsUnansweredPreVotes() throws {
        // A voter inside a leader's lease drops a pre-vote silently; without a retry the
        // pre-candidate would wait a whole new randomized timeout.
        var node = Fixture.node(1, configuration: Fixture.configuration(1, preVote: true))
        node.campaign()
        _ = node.sent()
        try node.step(Fixture.message(2, 1, term: 0, .preVoteResponse(granted: false)))
        _ = node.sent()
        node.tick()  // heartbeat interval is 1 tick in these fixtures
        let again = node.sent()
        #expect(node.role == .preCandidate && node.term == 0)
        #expect(again.map(\.to) == [ReplicaID(3)], "only the voter that has not answered is asked again")
        #expect(again.allSatisfy { $0.term == 1 && $0.kind == .preVote(lastLogIndex: 0, lastLogTerm: 0) })
    }

    @Test("a candidate re-sends its vote request, in the same term, to voters that have not answered")
    func candidateResendsUnansweredVoteRequests() throws {
        var node = Fixture.node(1, configuration: Fixture.configuration(1))
        node.campaign()
        #expect(node.role == .candidate && node.term == 1)
        _ = node.sent()
        try node.step(Fixture.message(3, 1, term: 1, .requestVoteResponse(granted: false)))
        _ = node.sent()
        node.tick()
        let again = node.sent()
        #expect(node.term == 1, "a re-sent request does not start a new term")
        #expect(again.map(\.to) == [ReplicaID(2)])
        #expect(again.allSatisfy { $0.term == 1 && $0.kind == .requestVote(lastLogIndex: 0, lastLogTerm: 0, leaderTransfer: false) })
        // The voter that already granted this candidate grants again; another candidate of
        // the same term is still refused.
        var voter = Fixture.node(2, configuration: Fixture.configuration(2))
        try voter.step(again[0])
        try voter.step(again[0])
        #expect(voter.sent().filter { $0.kind == .requestVoteResponse(granted: true) }.count == 2)
        try voter.step(Fixture.message(3, 2, term: 1, .requestVote(lastLogIndex: 0, lastLogTerm: 0, leaderTransfer: false)))
        #expect(voter.sent().last?.kind == .requestVoteResponse(granted: false))
    }

    @Test("a campaign started by timeoutNow re-sends its vote requests still marked as a leader transfer")
    func transferCampaignResendsAsTransfer() throws {
        // Voters inside the old leader's lease ignore an unmarked request; a retry that lost
        // the mark would be dropped by exactly the voters it is for.
        var node = Fixture.node(2, configuration: Fixture.configuration(2, preVote: true))
        try node.step(Fixture.message(1, 2, term: 0, .timeoutNow))
        #expect(node.role == .candidate && node.term == 1)
        let first = node.sent().filter { if case .requestVote = $0.kind { true } else { false } }
        #expect(first.count == 2 && first.allSatisfy { $0.kind == .requestVote(lastLogIndex: 0, lastLogTerm: 0, leaderTransfer: true) })
        node.tick()
        let again = node.sent()
        #expect(again.count == 2)
        #expect(again.allSatisfy { $0.term == 1 && $0.kind == .requestVote(lastLogIndex: 0, lastLogTerm: 0, leaderTransfer: true) })
    }

    @Test("thesis §9.6: a pre-vote does not change the voter's term or vote")
    func preVoteDoesNotChangeVoter() throws {
        var voter = Fixture.node(2, configuration: Fixture.configuration(2, preVote: true))
        try voter.step(Fixture.message(1, 2, term: 1, .preVote(lastLogIndex: 0, lastLogTerm: 0)))
        #expect(voter.term == 0)
        #expect(voter.vote == nil)
        let response = voter.sent().last
        #expect(response?.kind == .preVoteResponse(granted: true))
        #expect(response?.term == 1)
    }

    @Test("thesis §9.6: a partitioned server with pre-vote does not inflate its term")
    func partitionedPreVoteKeepsTerm() {
        var node = Fixture.node(1, configuration: Fixture.configuration(1, preVote: true))
        node.ticks(200)
        #expect(node.term == 0)
    }

    @Test("thesis §9.6: a pre-vote quorum leads to a real election")
    func preVoteThenElection() {
        var cluster = TestCluster(voters: 3, preVote: true)
        cluster.nodes[1]?.campaign()
        cluster.deliverAll()
        #expect(cluster.leaders == [1])
        #expect(cluster.nodes[1]?.term == 1)
    }

    @Test("teeth: with the test-only fault a candidate counts a pre-vote grant as a vote")
    func skipPreVoteTermRulesFault() throws {
        var node = Fixture.node(1, configuration: Fixture.configuration(1, preVote: true, faults: .skipPreVoteTermRules))
        node.campaign()
        try node.step(Fixture.message(2, 1, term: 1, .preVoteResponse(granted: true)))
        #expect(node.role == .candidate)
        try node.step(Fixture.message(3, 1, term: 1, .preVoteResponse(granted: true)))
        #expect(node.role == .leader)

        var correct = Fixture.node(1, configuration: Fixture.configuration(1, preVote: true))
        correct.campaign()
        try correct.step(Fixture.message(2, 1, term: 1, .preVoteResponse(granted: true)))
        try correct.step(Fixture.message(3, 1, term: 1, .preVoteResponse(granted: true)))
        #expect(correct.role == .candidate)
    }

    @Test("thesis §6.2: a leader that cannot hear a quorum steps down within an election timeout")
    func checkQuorumStepsDown() {
        var cluster = TestCluster(voters: 3, checkQuorum: true)
        cluster.nodes[1]?.elect()
        cluster.deliverAll()
        cluster.isolated = [1]
        cluster.tickAll(25)
        #expect(cluster.nodes[1]?.role == .follower)
    }

    @Test("thesis §4.2.3: with check-quorum a follower that hears a leader ignores a disruptive candidate")
    func leaseIgnoresDisruptiveVote() throws {
        var cluster = TestCluster(voters: 3, checkQuorum: true)
        cluster.tickAll(10)  // restart quiet period
        cluster.nodes[1]?.elect()
        cluster.deliverAll()
        try cluster.nodes[2]?.step(Fixture.message(3, 2, term: 5, .requestVote(lastLogIndex: 9, lastLogTerm: 9, leaderTransfer: false)))
        #expect(cluster.nodes[2]?.term == 1)
        #expect(cluster.nodes[2]?.sent().isEmpty == true)
    }

    @Test("thesis §3.10: leader transfer brings the target up to date and sends TimeoutNow; the target wins")
    func leaderTransfer() throws {
        var cluster = TestCluster(voters: 3, preVote: true, checkQuorum: true)
        cluster.tickAll(30)
        let leader = try #require(cluster.leaders.first)
        let target = try #require(cluster.ids.first { $0 != leader })
        let term = try #require(cluster.nodes[leader]?.term)
        cluster.isolated = [target]
        _ = try cluster.nodes[leader]?.propose([1])
        cluster.deliverAll()
        try cluster.nodes[leader]?.transferLeadership(to: target)
        #expect(throws: RaftError.leaderTransferInProgress) {
            try cluster.nodes[leader]?.propose([2])
        }
        cluster.isolated = []
        cluster.tickAll(2)
        #expect(cluster.leaders == [target])
        #expect(cluster.nodes[target]?.term == term + 1)
    }

    @Test("thesis §6.4: ReadIndex answers only after a quorum acknowledged a heartbeat")
    func readIndexNeedsQuorum() throws {
        var cluster = TestCluster(voters: 3)
        cluster.nodes[1]?.elect()
        cluster.deliverAll()
        cluster.isolated = [2, 3]
        try cluster.nodes[1]?.readIndex(requestID: 7)
        cluster.deliverAll()
        #expect(cluster.nodes[1]?.hasReady == false)
        cluster.isolated = []
        cluster.nodes[1]?.tick()
        let readStates = cluster.nodes[1].map { node -> [ReadState] in
            var copy = node
            return copy.drain().readStates
        }
        #expect(readStates == [])  // heartbeat sent, not yet acknowledged
        var readyStates: [ReadState] = []
        for _ in 0..<5 {
            guard var leader = cluster.nodes[1] else { break }
            let ready = leader.ready()
            readyStates += ready.readStates
            for message in ready.messages { try? cluster.nodes[message.to]?.step(message) }
            leader.advance(ready)
            cluster.nodes[1] = leader
            for id in [ReplicaID(2), 3] {
                guard var follower = cluster.nodes[id] else { continue }
                let followerReady = follower.ready()
                follower.advance(followerReady)
                cluster.nodes[id] = follower
                for message in followerReady.messages { try? cluster.nodes[1]?.step(message) }
            }
        }
        #expect(readyStates == [ReadState(requestID: 7, index: 1)])
    }

    @Test("thesis §6.4: ReadIndex on a follower fails with notLeader")
    func readIndexOnFollower() {
        var follower = Fixture.node(2)
        #expect(throws: RaftError.notLeader(leaderHint: nil)) {
            try follower.readIndex(requestID: 1)
        }
    }

    @Test("thesis §6.4.1: a lease read is answered at once while the lease holds, not after a transfer")
    func leaseRead() throws {
        var cluster = TestCluster(voters: 3, checkQuorum: true, readMode: .leaseBased)
        cluster.tickAll(10)
        cluster.nodes[1]?.elect()
        cluster.deliverAll()
        cluster.tickAll(1)
        try cluster.nodes[1]?.readIndex(requestID: 3)
        let immediate = cluster.nodes[1].map { node -> [ReadState] in
            var copy = node
            return copy.ready().readStates
        }
        #expect(immediate == [ReadState(requestID: 3, index: 1)])
    }

    @Test("messages and Ready are plain Codable, Equatable values")
    func codableRoundTrip() throws {
        let message = Fixture.message(1, 2, term: 3, .appendEntries(AppendEntries(
            prevLogIndex: 1, prevLogTerm: 1,
            entries: [LogEntry(term: 3, index: 2, payload: .membershipChange(.addLearner(4), resulting: Membership(voters: [1, 2, 3], learners: [4])))],
            leaderCommit: 1)))
        let encoded = try RecordingEncoder.encode(message)
        #expect(encoded > 0)
    }
}

/// A minimal Encoder that counts encoded scalars, proving the message types encode without
/// Foundation.
struct RecordingEncoder: Encoder {
    final class Counter { var count = 0 }
    let counter: Counter
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]

    static func encode(_ value: some Encodable) throws -> Int {
        let encoder = RecordingEncoder(counter: Counter())
        try value.encode(to: encoder)
        return encoder.counter.count
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(Keyed<Key>(encoder: self))
    }
    func unkeyedContainer() -> any UnkeyedEncodingContainer { Unkeyed(encoder: self) }
    func singleValueContainer() -> any SingleValueEncodingContainer { Single(encoder: self) }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let encoder: RecordingEncoder
        var codingPath: [any CodingKey] = []
        mutating func encodeNil(forKey key: Key) throws { encoder.counter.count += 1 }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            encoder.counter.count += 1
            try value.encode(to: encoder)
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            KeyedEncodingContainer(Keyed<NestedKey>(encoder: encoder))
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { Unkeyed(encoder: encoder) }
        mutating func superEncoder() -> any Encoder { encoder }
        mutating func superEncoder(forKey key: Key) -> any Encoder { encoder }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let encoder: RecordingEncoder
        var codingPath: [any CodingKey] = []
        var count = 0
        mutating func encodeNil() throws { count += 1 }
        mutating func encode<T: Encodable>(_ value: T) throws {
            count += 1
            encoder.counter.count += 1
            try value.encode(to: encoder)
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            KeyedEncodingContainer(Keyed<NestedKey>(encoder: encoder))
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { Unkeyed(encoder: encoder) }
        mutating func superEncoder() -> any Encoder { encoder }
    }

    struct Single: SingleValueEncodingContainer {
        let encoder: RecordingEncoder
        var codingPath: [any CodingKey] = []
        mutating func encodeNil() throws { encoder.counter.count += 1 }
        mutating func encode<T: Encodable>(_ value: T) throws {
            encoder.counter.count += 1
            if !(value is any BinaryInteger) && !(value is Bool) && !(value is String) {
                try value.encode(to: encoder)
            }
        }
    }
}
