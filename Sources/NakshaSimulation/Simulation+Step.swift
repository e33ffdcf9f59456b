import NakshaCore
import RaftCore

extension Simulation {
    /// One tick of simulated time: faults, workload, clock ticks, deliveries, `Ready`
    /// handling, then the invariant checks.
    mutating func step() {
        now += 1
        stats.ticks += 1
        if faultsEnabled {
            injectFaults()
            runWorkload()
        }
        for position in nodes.indices {
            nodes[position].core?.tick()
        }
        for message in network.takeDue(now: now) {
            deliver(message)
        }
        for position in nodes.indices where nodes[position].core?.hasReady == true {
            // A slow disk: sometimes a node's Ready waits for a later tick.
            if faultsEnabled && random.next(below: 10) == 0 { continue }
            handleReady(position)
        }
        for position in nodes.indices {
            if let core = nodes[position].core {
                checkLeader(core)
            }
        }
    }

    private mutating func checkLeader(_ core: RaftCore) {
        guard core.role == .leader else { return }
        let before = checker.violations.count
        checker.observeLeader(core)
        if checker.violations.count == before, core.term > 0 {
            digest.mix(core.term)
        }
    }

    mutating func deliver(_ message: RaftMessage) {
        guard let position = position(of: message.to), nodes[position].isUp else { return }
        stats.messagesDelivered += 1
        record("\(message.from)->\(message.to) term \(message.term) \(Simulation.describe(message.kind))",
            10 + Simulation.tag(message.kind), message.from.rawValue << 8 | message.to.rawValue)
        do {
            try nodes[position].core?.step(message)
        } catch {
            checker.fail("step threw \(error) for a correctly routed message")
        }
        if let core = nodes[position].core, core.role == .leader {
            checker.observeLeader(core)
        }
    }

    /// Carries out a node's `Ready` in the documented order: persist (and sync), send, apply.
    mutating func handleReady(_ position: Int) {
        guard let ready = nodes[position].core?.ready() else { return }
        let id = nodes[position].id
        if faultsEnabled && profile.readyCrashPerMille > 0 && random.next(below: 2000) < profile.readyCrashPerMille {
            // Crash before the write was synced: the whole Ready is lost.
            crash(position)
            return
        }
        persist(ready, at: position)
        if let core = nodes[position].core, let old = observedCommit[id], core.commitIndex > old {
            checker.observeCommit(core, from: old)
            observedCommit[id] = core.commitIndex
            if let term = core.term(at: core.commitIndex) {
                checkCommitIsElectionProof(index: core.commitIndex, term: term)
            }
        }
        if faultsEnabled && profile.readyCrashPerMille > 0 && random.next(below: 2000) < profile.readyCrashPerMille {
            // Crash after the sync but before sending or applying anything.
            crash(position)
            return
        }
        for message in ready.messages {
            network.send(message, now: now, random: &random)
        }
        apply(ready, at: position)
        nodes[position].core?.advance(ready)
    }

    private mutating func persist(_ ready: Ready, at position: Int) {
        let id = nodes[position].id
        if let snapshot = ready.snapshot {
            nodes[position].storage.install(snapshot)
        }
        if let first = ready.entries.first {
            let previousTerm = nodes[position].storage.term(at: first.index - 1)
            let removed = nodes[position].storage.append(ready.entries)
            checker.observePersisted(node: id, appended: ready.entries, previousTerm: previousTerm, removed: removed)
            record("persist \(id) \(first.index)...\(ready.entries.count + Int(first.index) - 1)", 3, first.index)
        }
        if let hardState = ready.hardState {
            nodes[position].storage.hardState = hardState
        }
    }

    private mutating func apply(_ ready: Ready, at position: Int) {
        let id = nodes[position].id
        if let snapshot = ready.snapshot {
            nodes[position].appliedIndex = snapshot.metadata.index
            nodes[position].appliedDigest = SimulatedNode.decodeDigest(snapshot.data)
            checker.observeSnapshotInstall(node: id, index: snapshot.metadata.index, digest: nodes[position].appliedDigest)
            stats.snapshotsInstalled += 1
            record("install snapshot \(id) at \(snapshot.metadata.index)", 4, snapshot.metadata.index)
        }
        for entry in ready.committedEntries {
            applyEntry(entry, at: position)
        }
        for readState in ready.readStates {
            let started = readStartedAt[readState.requestID] ?? 0
            checker.observeRead(node: id, requestID: readState.requestID, readIndex: readState.index, committedAtStart: started)
            nodes[position].pendingReads.append(readState)
        }
        serveReads(at: position)
    }

    private mutating func applyEntry(_ entry: LogEntry, at position: Int) {
        let id = nodes[position].id
        guard entry.index == nodes[position].appliedIndex + 1 else {
            if entry.index > nodes[position].appliedIndex + 1 {
                checker.fail("State Machine Safety: \(id) applied index \(entry.index) after \(nodes[position].appliedIndex)")
            }
            return
        }
        var chain = TraceDigest()
        chain.mix(nodes[position].appliedDigest)
        chain.mix(TraceDigest.entryHash(entry))
        nodes[position].appliedDigest = chain.value
        nodes[position].appliedIndex = entry.index
        checker.observeApply(node: id, entry: entry, digestAfterApply: chain.value)
        record("apply \(id) \(entry.index)/\(entry.term)", 5, entry.index)
        if case .remove(let removed) = entry.membershipChange, let target = self.position(of: removed) {
            // Once its removal is committed an operator shuts the server down for good.
            if !nodes[target].decommissioned {
                nodes[target].decommissioned = true
                if nodes[target].isUp { crash(target) }
            }
        }
    }

    private mutating func serveReads(at position: Int) {
        let applied = nodes[position].appliedIndex
        let ready = nodes[position].pendingReads.filter { $0.index <= applied }
        guard !ready.isEmpty else { return }
        nodes[position].pendingReads.removeAll { $0.index <= applied }
        for readState in ready {
            // The read returns the state at `applied`, which includes every write committed
            // before the read started (checked on arrival) and nothing uncommitted.
            stats.readsConfirmed += 1
            readStartedAt[readState.requestID] = nil
            record("read \(readState.requestID) served at \(applied)", 6, readState.requestID)
        }
    }

    static func tag(_ kind: RaftMessage.Kind) -> UInt64 {
        switch kind {
        case .preVote: return 0
        case .preVoteResponse: return 1
        case .requestVote: return 2
        case .requestVoteResponse: return 3
        case .appendEntries: return 4
        case .appendEntriesResponse: return 5
        case .heartbeat: return 6
        case .heartbeatResponse: return 7
        case .installSnapshot: return 8
        case .timeoutNow: return 9
        }
    }

    static func describe(_ kind: RaftMessage.Kind) -> String {
        switch kind {
        case .preVote(let index, let term): return "preVote(last \(index)/\(term))"
        case .preVoteResponse(let granted): return "preVoteResponse(\(granted))"
        case .requestVote(let index, let term, let transfer): return "requestVote(last \(index)/\(term)\(transfer ? ", transfer" : ""))"
        case .requestVoteResponse(let granted): return "requestVoteResponse(\(granted))"
        case .appendEntries(let append):
            return "append(prev \(append.prevLogIndex)/\(append.prevLogTerm), \(append.entries.count) entries, commit \(append.leaderCommit))"
        case .appendEntriesResponse(let response):
            return "appendResponse(\(response.success ? "ok" : "reject") \(response.index), hint \(response.conflictIndex)/\(response.conflictTerm))"
        case .heartbeat(let commit, let sequence): return "heartbeat(commit \(commit), read \(sequence))"
        case .heartbeatResponse(let sequence): return "heartbeatResponse(read \(sequence))"
        case .installSnapshot(let snapshot): return "installSnapshot(\(snapshot.metadata.index)/\(snapshot.metadata.term))"
        case .timeoutNow: return "timeoutNow"
        }
    }
}
