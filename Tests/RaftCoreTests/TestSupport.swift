import RaftCore

/// Helpers for driving a single `RaftCore` by hand in paper tests.
enum Fixture {
    static func configuration(
        _ id: UInt64, preVote: Bool = false, checkQuorum: Bool = false, readMode: RaftCore.ReadMode = .safe,
        maxMessageBytes: Int = 1 << 20, maxInflight: Int = 256, faults: RaftCore.TestingFaults = [], seed: UInt64? = nil
    ) -> RaftCore.Configuration {
        RaftCore.Configuration(
            id: ReplicaID(id), electionTimeoutTicks: 10, heartbeatIntervalTicks: 1, maxMessageBytes: maxMessageBytes,
            maxInflightMessages: maxInflight, preVote: preVote, checkQuorum: checkQuorum, readMode: readMode,
            randomSeed: seed ?? id, testingFaults: faults)
    }

    /// A server `id` of a group of voters `1...voters` with `terms` as its log (entry i has
    /// term terms[i-1]) and `term` as its current term.
    static func node(
        _ id: UInt64, voters: UInt64 = 3, terms: [Term] = [], term: Term = 0, vote: ReplicaID? = nil,
        commit: LogIndex = 0, configuration: RaftCore.Configuration? = nil
    ) -> RaftCore {
        var state = PersistentState.bootstrap(voters: (1...voters).map { ReplicaID($0) })
        state.entries = terms.enumerated().map { position, entryTerm in
            LogEntry(term: entryTerm, index: LogIndex(position + 1), payload: .command([UInt8(position & 0xff)]))
        }
        state.hardState = HardState(term: max(term, terms.last ?? 0), vote: vote, commit: commit)
        return RaftCore(configuration: configuration ?? Fixture.configuration(id), state: state)
    }

    static func message(_ from: UInt64, _ to: UInt64, term: Term, _ kind: RaftMessage.Kind) -> RaftMessage {
        RaftMessage(from: ReplicaID(from), to: ReplicaID(to), term: term, kind: kind)
    }
}

extension RaftCore {
    /// Takes the pending `Ready`, "persists" it and advances; returns it.
    @discardableResult
    mutating func drain() -> Ready {
        let ready = ready()
        advance(ready)
        return ready
    }

    /// Messages produced so far (draining the Ready).
    mutating func sent() -> [RaftMessage] {
        drain().messages
    }

    mutating func ticks(_ count: Int) {
        for _ in 0..<count { tick() }
    }

    /// Makes this node leader of term `term + 1` by campaigning and receiving every vote.
    mutating func elect() {
        campaign()
        let requests = sent()
        for request in requests {
            try? step(RaftMessage(from: request.to, to: id, term: term, kind: .requestVoteResponse(granted: true)))
        }
    }
}

/// A perfect network of cores for multi-node tests.
struct TestCluster {
    var nodes: [ReplicaID: RaftCore] = [:]
    var applied: [ReplicaID: [LogEntry]] = [:]
    var dropTo: Set<ReplicaID> = []
    var isolated: Set<ReplicaID> = []

    init(voters: UInt64, preVote: Bool = false, checkQuorum: Bool = false, readMode: RaftCore.ReadMode = .safe) {
        for id in 1...voters {
            nodes[ReplicaID(id)] = Fixture.node(
                id, voters: voters,
                configuration: Fixture.configuration(id, preVote: preVote, checkQuorum: checkQuorum, readMode: readMode))
        }
    }

    var ids: [ReplicaID] { nodes.keys.sorted() }

    mutating func deliverAll(maxRounds: Int = 1000) {
        for _ in 0..<maxRounds {
            var messages: [RaftMessage] = []
            for id in ids {
                guard var node = nodes[id], node.hasReady else { continue }
                let ready = node.ready()
                applied[id, default: []].append(contentsOf: ready.committedEntries)
                messages.append(contentsOf: ready.messages)
                node.advance(ready)
                nodes[id] = node
            }
            if messages.isEmpty { return }
            for message in messages where !isolated.contains(message.to) && !isolated.contains(message.from) {
                try? nodes[message.to]?.step(message)
            }
        }
    }

    mutating func tickAll(_ count: Int) {
        for _ in 0..<count {
            for id in ids { nodes[id]?.tick() }
            deliverAll()
        }
    }

    var leaders: [ReplicaID] { ids.filter { nodes[$0]?.role == .leader } }
}
