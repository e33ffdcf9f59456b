import RaftCore

/// Checks the safety properties of Raft (Figure 3) on a simulated cluster, incrementally, from
/// what the nodes persist, commit and apply. Every violation is recorded as a message.
struct InvariantChecker: Sendable {
    private struct EntryKey: Hashable, Sendable {
        var index: LogIndex
        var term: Term
    }

    private struct EntryIdentity: Equatable, Sendable {
        var payload: UInt64
        var previousTerm: Term
    }

    private(set) var violations: [String] = []
    /// Election Safety: the one leader of each term.
    private var leaderOfTerm: [Term: ReplicaID] = [:]
    /// Log Matching: every (index, term) seen anywhere names one payload and one previous term.
    private var identities: [EntryKey: EntryIdentity] = [:]
    /// The term of each committed index (position 0 is index 1); nil while unknown.
    private(set) var committedTerms: [Term?] = []
    /// State Machine Safety: the state-machine digest after applying each index.
    private var digestAfter: [LogIndex: UInt64] = [0: 0]

    /// The highest index known to be committed anywhere.
    var highestCommitted: LogIndex {
        LogIndex(committedTerms.count)
    }

    mutating func fail(_ message: String) {
        violations.append(message)
    }

    func committedTerm(at index: LogIndex) -> Term? {
        guard index >= 1, index <= highestCommitted else { return nil }
        return committedTerms[Int(index - 1)]
    }

    /// Election Safety (§5.2): at most one leader per term. On a new leader, Leader
    /// Completeness (§5.4): its log holds every entry committed so far.
    mutating func observeLeader(_ core: RaftCore) {
        guard core.role == .leader else { return }
        if let existing = leaderOfTerm[core.term] {
            if existing != core.id {
                fail("Election Safety: \(existing) and \(core.id) both leaders in term \(core.term)")
            }
            return
        }
        leaderOfTerm[core.term] = core.id
        checkLeaderCompleteness(core)
    }

    private mutating func checkLeaderCompleteness(_ core: RaftCore) {
        guard highestCommitted > 0, max(core.snapshotIndex, 1) <= highestCommitted else { return }
        for index in max(core.snapshotIndex, 1)...highestCommitted {
            guard let expected = committedTerm(at: index) else { continue }
            guard let actual = core.term(at: index) else {
                fail("Leader Completeness: leader \(core.id) of term \(core.term) lacks committed index \(index)")
                return
            }
            if actual != expected {
                fail("Leader Completeness: leader \(core.id) of term \(core.term) has term \(actual) at committed index \(index), committed term \(expected)")
                return
            }
        }
    }

    /// Log Matching (§5.3), checked on what a node persists; and no committed entry is ever
    /// truncated away.
    mutating func observePersisted(node: ReplicaID, appended: [LogEntry], previousTerm: Term?, removed: [LogEntry]) {
        for entry in removed {
            if let term = committedTerm(at: entry.index), term == entry.term {
                fail("Committed entry lost: \(node) truncated committed index \(entry.index) term \(entry.term)")
            }
        }
        var previous = previousTerm
        for entry in appended {
            let identity = EntryIdentity(payload: TraceDigest.payloadHash(entry.payload), previousTerm: previous ?? UInt64.max)
            let key = EntryKey(index: entry.index, term: entry.term)
            if let known = identities[key] {
                if known.payload != identity.payload {
                    fail("Log Matching: two different entries at index \(entry.index) term \(entry.term) (on \(node))")
                } else if previous != nil && known.previousTerm != UInt64.max && known.previousTerm != identity.previousTerm {
                    fail("Log Matching: entry \(entry.index)/\(entry.term) on \(node) follows term \(identity.previousTerm), elsewhere \(known.previousTerm)")
                }
            } else if previous != nil {
                identities[key] = identity
            }
            previous = entry.term
        }
    }

    /// A node's commit index advanced: every newly committed entry must agree with all earlier
    /// commits at that index.
    mutating func observeCommit(_ core: RaftCore, from oldCommit: LogIndex) {
        guard core.commitIndex > oldCommit else { return }
        for index in (oldCommit + 1)...core.commitIndex {
            guard let term = core.term(at: index) else { continue }
            recordCommitted(index: index, term: term, on: core.id)
        }
    }

    private mutating func recordCommitted(index: LogIndex, term: Term, on node: ReplicaID) {
        while highestCommitted < index {
            committedTerms.append(nil)
        }
        let position = Int(index - 1)
        if let known = committedTerms[position] {
            if known != term {
                fail("Committed entry lost: index \(index) committed with term \(known), now term \(term) on \(node)")
            }
        } else {
            committedTerms[position] = term
        }
    }

    /// State Machine Safety (§5.4.3): every server applies the same entry at each index.
    mutating func observeApply(node: ReplicaID, entry: LogEntry, digestAfterApply: UInt64) {
        if let term = committedTerm(at: entry.index), term != entry.term {
            fail("State Machine Safety: \(node) applied index \(entry.index) term \(entry.term), committed term \(term)")
        }
        if let known = digestAfter[entry.index] {
            if known != digestAfterApply {
                fail("State Machine Safety: \(node) state after index \(entry.index) differs from another server's")
            }
        } else {
            digestAfter[entry.index] = digestAfterApply
        }
    }

    mutating func observeSnapshotInstall(node: ReplicaID, index: LogIndex, digest: UInt64) {
        if let known = digestAfter[index], known != digest {
            fail("State Machine Safety: \(node) installed a snapshot at \(index) that differs from applied state")
        } else {
            digestAfter[index] = digest
        }
    }

    /// ReadIndex linearizability: a read started when index `committedAtStart` was already
    /// committed must be served from state at least that new.
    mutating func observeRead(node: ReplicaID, requestID: UInt64, readIndex: LogIndex, committedAtStart: LogIndex) {
        if readIndex < committedAtStart {
            fail("Linearizability: read \(requestID) on \(node) got read index \(readIndex) but \(committedAtStart) was committed before it started")
        }
    }
}
