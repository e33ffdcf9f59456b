import NakshaCore
import NakshaRaft
import NakshaWire
import RaftCore
import Testing

/// The hand-written peer format round-trips every message kind and rejects malformed input
/// with a typed error at every truncation point.
@Suite struct RaftMessageCodecTests {
    static func sample(_ random: inout SeededGenerator) -> [RaftMessage] {
        func number() -> UInt64 { random.next() >> UInt64(random.next(below: 64)) }
        let membership = Membership(voters: [ReplicaID(1), ReplicaID(2)], learners: [ReplicaID(3)])
        let entries: [LogEntry] = [
            LogEntry(term: number(), index: number(), payload: .empty),
            LogEntry(term: number(), index: number(), payload: .command((0..<Int(random.next(below: 300))).map { _ in UInt8(truncatingIfNeeded: random.next()) })),
            LogEntry(term: 3, index: 9, payload: .membershipChange(.addLearner(ReplicaID(3)), resulting: membership)),
        ]
        let kinds: [RaftMessage.Kind] = [
            .preVote(lastLogIndex: number(), lastLogTerm: number()), .preVoteResponse(granted: true),
            .requestVote(lastLogIndex: number(), lastLogTerm: number(), leaderTransfer: true), .requestVoteResponse(granted: false),
            .appendEntries(AppendEntries(prevLogIndex: number(), prevLogTerm: number(), entries: entries, leaderCommit: number())),
            .appendEntries(AppendEntries(prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0)),
            .appendEntriesResponse(AppendEntriesResponse(success: false, index: number(), conflictIndex: number(), conflictTerm: number())),
            .heartbeat(commitIndex: number(), readSequence: number()), .heartbeatResponse(readSequence: number()),
            .installSnapshot(Snapshot(metadata: SnapshotMetadata(index: 7, term: 2, membership: membership), data: [1, 2, 3])),
            .timeoutNow,
        ]
        return kinds.map { RaftMessage(from: ReplicaID(number()), to: ReplicaID(number()), term: number(), kind: $0) }
    }

    @Test func everyKindRoundTripsAndMatchesTheCodableForm() throws {
        var random = SeededGenerator(seed: 42)
        for _ in 0..<50 {
            let messages = Self.sample(&random)
            #expect(try RaftMessageCodec.decode(RaftMessageCodec.encode(messages)) == messages)
        }
        #expect(try RaftMessageCodec.decode(RaftMessageCodec.encode([])) == [])
        // Alone in a batch too: the smallest message (timeoutNow, small ids) is four bytes.
        for message in Self.sample(&random) + [RaftMessage(from: ReplicaID(1), to: ReplicaID(2), term: 1, kind: .timeoutNow)] {
            #expect(try RaftMessageCodec.decode(RaftMessageCodec.encode([message])) == [message], "\(message.kind)")
        }
    }

    @Test func everyTruncationAndTrailingGarbageIsATypedError() throws {
        var random = SeededGenerator(seed: 7)
        let bytes = try RaftMessageCodec.encode(Self.sample(&random))
        for length in 0..<bytes.count {
            #expect(throws: WireError.self) { try RaftMessageCodec.decode(Array(bytes[..<length])) }
        }
        #expect(throws: WireError.self) { try RaftMessageCodec.decode(bytes + [0]) }
        // A count that claims more messages than the input could hold is refused up front.
        #expect(throws: WireError.self) { try RaftMessageCodec.decode([0xFF, 0xFF, 0xFF, 0xFF, 0x0F]) }
        // Random bytes never trap.
        for _ in 0..<2_000 {
            let garbage = (0..<Int(random.next(below: 64))).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            _ = try? RaftMessageCodec.decode(garbage)
        }
    }
}
