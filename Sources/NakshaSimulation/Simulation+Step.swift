import NakshaCore
import NakshaRaftStorage
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
            if let noticed = nodes[position].failureNoticedAt, now >= noticed + 3, nodes[position].isUp {
                // A storage failure the node ignored (mutation): the process dies soon after.
                crash(position)
            }
            try? nodes[position].replica?.tick()
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
            try nodes[position].replica?.step(message)
        } catch {
            checker.fail("step threw \(error) for a correctly routed message")
        }
        if let core = nodes[position].core, core.role == .leader {
            checker.observeLeader(core)
        }
    }

    /// Carries out a node's ready batches through its real `RaftReplica` (persist and sync
    /// to the simulated disk, apply), then sends each batch's messages. A storage error stops
    /// the node (fail-stop): it must refuse everything afterwards, and the process exits.
    mutating func handleReady(_ position: Int) {
        if faultsEnabled && profile.readyCrashPerMille > 0 && random.next(below: 2000) < profile.readyCrashPerMille {
            // Crash before the batch was written: the whole Ready is lost.
            crash(position)
            return
        }
        while let replica = nodes[position].replica, replica.core.hasReady {
            let fileSystem = nodes[position].fileSystem
            let faultsBefore = fileSystem.faultsInjected
            let output: RaftReplica.Output
            do {
                guard let next = try replica.processNextReady() else { break }
                output = next
            } catch {
                stopAfterStorageFailure(position, replica: replica, error: error)
                return
            }
            if fileSystem.faultsInjected > faultsBefore {
                // Only with `ignorePersistErrors`: the replica carried on after a failed call.
                if nodes[position].failureNoticedAt == nil { nodes[position].failureNoticedAt = now }
            }
            persist(output.ready, at: position)
            let id = nodes[position].id
            if let core = nodes[position].core, let old = observedCommit[id], core.commitIndex > old {
                checker.observeCommit(core, from: old)
                observedCommit[id] = core.commitIndex
                if let term = core.term(at: core.commitIndex) {
                    checkCommitIsElectionProof(index: core.commitIndex, term: term)
                }
            }
            apply(output, at: position)
            if faultsEnabled && profile.readyCrashPerMille > 0 && random.next(below: 2000) < profile.readyCrashPerMille {
                // Crash after the sync but before sending anything.
                crash(position)
                return
            }
            for message in output.ready.messages {
                network.send(message, now: now, random: &random)
                if case .installSnapshot = message.kind {
                    // The whole snapshot left in one message: report the stream finished.
                    try? replica.withCore { core throws(RaftError) in core.reportSnapshot(to: message.to, finished: true) }
                }
            }
        }
    }

    /// Fail-stop: the replica must refuse every further call, and the process exits (crash).
    private mutating func stopAfterStorageFailure(_ position: Int, replica: RaftReplica, error: any Error) {
        let id = nodes[position].id
        stats.persistFailures += 1
        nodes[position].failedBatch = replica.failedReady
        if replica.stopError == nil {
            checker.fail("Fail-stop: \(id) threw \(error) from processReady but is not stopped")
        }
        var refusals = 0
        if (try? replica.tick()) == nil { refusals += 1 }
        if (try? replica.processNextReady()) == nil { refusals += 1 }
        if (try? replica.propose([1], machine: 0, requestID: RequestID(client: 0, sequence: 0), nowMillis: now)) == nil { refusals += 1 }
        if refusals != 3 {
            checker.fail("Fail-stop: \(id) hit a storage error and still accepted \(3 - refusals) of tick, processReady and propose")
        }
        record("storage failure on \(id): \(error)", 9, id.rawValue)
        crash(position)
    }

    private mutating func persist(_ ready: Ready, at position: Int) {
        let id = nodes[position].id
        if let snapshot = ready.snapshot, snapshot.metadata.index > nodes[position].storage.snapshot.metadata.index {
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

    private mutating func apply(_ output: RaftReplica.Output, at position: Int) {
        let id = nodes[position].id
        if let snapshot = output.ready.snapshot, output.installed != nil {
            nodes[position].appliedIndex = snapshot.metadata.index
            guard let digest = DigestMachine.digest(inNodeSnapshot: snapshot.data, extra: workload?.makeMachine()) else {
                checker.fail("Snapshot: \(id) installed a snapshot at \(snapshot.metadata.index) whose state does not decode")
                return
            }
            nodes[position].appliedDigest = digest
            checker.observeSnapshotInstall(node: id, index: snapshot.metadata.index, digest: digest)
            stats.snapshotsInstalled += 1
            record("install snapshot \(id) at \(snapshot.metadata.index)", 4, snapshot.metadata.index)
        }
        for applied in output.applied {
            applyEntry(applied, at: position)
        }
        for readState in output.ready.readStates {
            let started = readStartedAt[readState.requestID] ?? 0
            checker.observeRead(node: id, requestID: readState.requestID, readIndex: readState.index, committedAtStart: started)
            nodes[position].pendingReads.append(readState)
        }
        serveReads(at: position)
    }

    private mutating func applyEntry(_ applied: RaftReplica.AppliedEntry, at position: Int) {
        let id = nodes[position].id
        let entry = applied.entry
        guard entry.index == nodes[position].appliedIndex + 1 else {
            checker.fail("State Machine Safety: \(id) applied index \(entry.index) after \(nodes[position].appliedIndex)")
            return
        }
        if case .command = entry.payload, let requestID = applied.requestID, requestID.client >= SimulationWorkloadTag.firstClient {
            // The workload's machine: its result goes to the workload, once per index.
            if entry.index > workloadReportedThrough {
                workloadReportedThrough = entry.index
                workload?.applied(index: entry.index, requestID: requestID, result: applied.result ?? [])
                stats.workloadCommandsApplied += 1
            }
        } else if case .command = entry.payload {
            guard let result = applied.result, result.count == 8, applied.requestID != nil else {
                checker.fail("Apply: \(id) applied command \(entry.index) without a digest result: \(String(decoding: applied.result ?? [], as: UTF8.self))")
                return
            }
            nodes[position].appliedDigest = DigestMachine.value(result)
        }
        nodes[position].appliedIndex = entry.index
        checker.observeApply(node: id, entry: entry, digestAfterApply: nodes[position].appliedDigest)
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
