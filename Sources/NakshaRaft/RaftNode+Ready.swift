import Dispatch
import Distributed
import Logging
import NakshaActors
import NakshaCore
import NakshaRaftStorage
import RaftCore

extension RaftNode {
    // MARK: The ready loop

    /// Drains the replica's ready batches (persisted and synced there), then sends each
    /// batch's messages, answers the proposals and reads it settled, and starts a snapshot
    /// when one is due. A storage error stops the node (`failStop`) and is rethrown.
    func processReady() throws {
        let outputs: [RaftReplica.Output]
        let started = ContinuousClock.now
        do {
            outputs = try replica.processReady()
        } catch {
            failStop(error)
            throw error
        }
        for output in outputs {
            send(output.ready.messages)
            if let installed = output.installed {
                metrics.snapshotInstalled(duration: .now - started)
                durableSnapshotIndex = max(durableSnapshotIndex, installed.index)
                answerProposalsCoveredBySnapshot()
            }
            for applied in output.applied {
                answerProposal(at: applied)  // (`peerNode` re-resolves a member whose address changed)
            }
            releaseReads()
            for state in output.ready.readStates {
                readWaiters.removeValue(forKey: state.requestID)?.continuation.resume(returning: state.index)
            }
        }
        failDroppedReads()
        failLostProposals()
        if !outputs.isEmpty { compactIfDue() }
        observe()
    }

    /// Stops the node for good after a storage failure: logged once as critical, every
    /// waiter failed, `onStop` called. Nothing more is persisted, sent or applied.
    func failStop(_ error: any Error) {
        let stopped = RaftError.nodeStopped("\(error)")
        for (_, waiter) in waiters { waiter.continuation.resume(throwing: stopped) }
        waiters = [:]
        for (_, waiter) in readWaiters { waiter.continuation.resume(throwing: stopped) }
        readWaiters = [:]
        for read in pendingReads { read.continuation.resume(throwing: stopped) }
        pendingReads = []
        guard !stopAnnounced else { return }
        stopAnnounced = true
        metrics.nodeStopped()
        logger.critical(
            "storage failure: the node stops (fail-stop); restart it, recovery runs at start",
            metadata: ["error": "\(error)", "raft.term": "\(core.term)", "raft.applied": "\(applied)"])
        options.onStop?(error)
    }

    private func answerProposal(at applied: RaftReplica.AppliedEntry) {
        guard let waiter = waiters.removeValue(forKey: applied.entry.index) else { return }
        guard let requestID = waiter.requestID else {
            if applied.entry.term == waiter.term {
                metrics.proposalCommitted(latency: .now - waiter.started)
                waiter.continuation.resume(returning: [])
            } else {
                metrics.proposalFailed(.notLeader)
                waiter.continuation.resume(throwing: RaftError.notLeader(leaderHint: core.leader))
            }
            return
        }
        if applied.requestID == requestID, let result = applied.result {
            metrics.proposalCommitted(latency: .now - waiter.started)
            waiter.continuation.resume(returning: result)
        } else if let result = replica.host.result(of: requestID) {
            // The same request was applied at another index (a retry with the same id).
            metrics.proposalCommitted(latency: .now - waiter.started)
            waiter.continuation.resume(returning: result)
        } else {
            // Another leader's entry took this index: this proposal was never applied.
            metrics.proposalFailed(.notLeader)
            waiter.continuation.resume(throwing: RaftError.notLeader(leaderHint: core.leader))
        }
    }

    /// Proposals whose entries an installed snapshot covers were applied elsewhere or
    /// replaced. The request window tells which; if the id is no longer there the outcome is
    /// unknown here.
    private func answerProposalsCoveredBySnapshot() {
        for (index, waiter) in waiters where index <= applied {
            waiters.removeValue(forKey: index)
            if let requestID = waiter.requestID, let result = replica.host.result(of: requestID) {
                metrics.proposalCommitted(latency: .now - waiter.started)
                waiter.continuation.resume(returning: result)
            } else {
                metrics.proposalFailed(.outcomeUnknown)
                waiter.continuation.resume(
                    throwing: RaftError.outcomeUnknown("this node caught up by snapshot past the proposal", leaderHint: core.leader))
            }
        }
    }

    /// Releases reads that were waiting for the applied index to reach their read index.
    private func releaseReads() {
        guard !pendingReads.isEmpty else { return }
        let ready = pendingReads.filter { $0.index <= applied }
        pendingReads.removeAll { $0.index <= applied }
        for read in ready { read.continuation.resume() }
    }

    /// The core drops its pending ReadIndex requests when this node stops leading or the
    /// term changes: their waiters would never be answered. Reads are idempotent, so they
    /// fail with `notLeader` and the caller retries at the new leader.
    private func failDroppedReads() {
        let now = (core.role, core.term)
        defer { lastRoleAndTerm = now }
        guard let before = lastRoleAndTerm, before != now, !readWaiters.isEmpty else { return }
        let waiting = readWaiters
        readWaiters = [:]
        for (_, waiter) in waiting { waiter.continuation.resume(throwing: RaftError.notLeader(leaderHint: core.leader)) }
    }

    /// A proposal whose entry was overwritten by another leader's, or truncated away, can
    /// never apply: `notLeader`, safe to retry.
    private func failLostProposals() {
        guard core.role != .leader || waiters.keys.contains(where: { $0 > core.lastIndex }) else { return }
        for (index, waiter) in waiters {
            let lost: Bool
            if index > core.lastIndex {
                lost = true
            } else if let term = core.term(at: index) {
                lost = term != waiter.term
            } else {
                lost = false  // compacted: answered when applied or by the snapshot path
            }
            guard lost else { continue }
            waiters.removeValue(forKey: index)
            metrics.proposalFailed(.notLeader)
            waiter.continuation.resume(throwing: RaftError.notLeader(leaderHint: core.leader))
        }
    }

    /// Every local call has a deadline: a proposal still waiting is `outcomeUnknown` (it is
    /// in the log and may yet apply), a read `deadlineExceeded`.
    func expireWaiters(now: ContinuousClock.Instant) {
        for (index, waiter) in waiters where waiter.deadline <= now {
            waiters.removeValue(forKey: index)
            metrics.proposalFailed(.outcomeUnknown)
            waiter.continuation.resume(
                throwing: RaftError.outcomeUnknown("not applied within \(options.requestTimeout)", leaderHint: core.leader))
        }
        for (id, waiter) in readWaiters where waiter.deadline <= now {
            readWaiters.removeValue(forKey: id)
            waiter.continuation.resume(throwing: RaftError.deadlineExceeded("the read index"))
        }
        let expired = pendingReads.filter { $0.deadline <= now }
        guard !expired.isEmpty else { return }
        pendingReads.removeAll { $0.deadline <= now }
        for read in expired { read.continuation.resume(throwing: RaftError.deadlineExceeded("waiting to apply through \(read.index)")) }
    }

    /// Starts a snapshot once `snapshotEveryEntries` entries were applied since the last.
    ///
    /// Only a copy of the state is taken here. The machines are values: the copy shares
    /// storage, and the node's first change afterwards duplicates it once in memory (a copy,
    /// not an encoding). Serialising, compressing and the synced write happen on a Dispatch
    /// thread, outside the node and outside Swift's cooperative pool, so the node keeps
    /// replicating meanwhile. The log is compacted in memory once the bytes exist; the marker
    /// is written and the segments deleted only once the snapshot file is durable: a crash at
    /// any point restarts from the previous snapshot and the full log. A write failure stops
    /// the node (fail-stop); a state machine that cannot encode its state is logged and
    /// counted, and the log is kept.
    private func compactIfDue() {
        guard snapshotInProgress == nil, replica.stopError == nil, applied >= core.snapshotIndex + options.snapshotEveryEntries else { return }
        let index = applied
        let source = replica.host
        snapshotInProgress = index
        Task { await self.takeSnapshot(of: source, at: index) }
    }

    private func takeSnapshot(of source: StateMachineHost, at index: LogIndex) async {
        defer { snapshotInProgress = nil }
        let started = ContinuousClock.now
        let data: [UInt8]
        do {
            data = try await Self.offNode { try source.snapshot() }
        } catch {
            metrics.snapshotFailed()
            logger.error("a state machine could not encode its snapshot; the log is kept", metadata: ["index": "\(index)", "error": "\(error)"])
            return
        }
        // A newer snapshot from the leader may have been installed meanwhile.
        guard index > core.snapshotIndex, replica.stopError == nil else { return }
        do {
            let snapshot = try replica.compact(through: index, data: data)
            let store = replica.storage.snapshots
            do {
                try await Self.offNode { try RaftStorage.write(snapshot, to: store) }
            } catch {
                try replica.handleStorageError(error)
            }
            try replica.logCovered(by: snapshot)
            durableSnapshotIndex = max(durableSnapshotIndex, index)
            metrics.snapshotTaken(duration: .now - started)
        } catch {
            metrics.snapshotFailed()
            if replica.stopError != nil {
                failStop(error)
            } else {
                logger.warning("snapshot skipped", metadata: ["index": "\(index)", "error": "\(error)"])
            }
        }
    }

    /// Runs blocking work (CPU-heavy or `fsync`) on a Dispatch thread.
    private static func offNode<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .utility).async { continuation.resume(with: Result { try work() }) }
        }
    }

    /// Updates the gauges and readiness after a batch.
    private func observe() {
        let leader = core.leader
        if leader != lastLeader {
            if leader != nil { metrics.leaderChanged() }
            logger.info(
                leader == nil ? "leader lost" : "leader known",
                metadata: ["leader": "\(leader.map { "\($0.rawValue)" } ?? "none")", "term": "\(core.term)"])
            lastLeader = leader
        }
        if readyIndex == nil, leader != nil { readyIndex = core.commitIndex }
        metrics.observe(term: core.term, commitIndex: core.commitIndex, appliedIndex: applied)
    }

    // MARK: Sending

    func send(_ messages: [RaftMessage]) {
        guard !messages.isEmpty else { return }
        var byPeer: [ReplicaID: [RaftMessage]] = [:]
        for message in messages { byPeer[message.to, default: []].append(message) }
        let timeout = options.sendTimeout
        for (peer, batch) in byPeer {
            guard let remote = peerNode(peer) else { continue }
            var plain: [RaftMessage] = []
            var snapshots: [RaftMessage] = []
            for message in batch {
                if case .installSnapshot(let snapshot) = message.kind, snapshot.data.count > options.snapshotChunkBytes {
                    snapshots.append(message)
                } else {
                    plain.append(message)
                }
            }
            // Started immediately so that batches to one peer leave in order; Raft tolerates
            // loss, so a failed send is dropped (the core retries on its own schedule). A
            // pipelined ready can hold many AppendEntries for one peer: they are split into
            // batches well below the transport's 16 MiB frame limit.
            for group in Self.batches(plain, maxBytes: Self.maxBatchBytes) {
                let batch: [UInt8]
                do {
                    batch = try RaftMessageCodec.encode(group)
                } catch {
                    // Not data loss (nothing is acknowledged by a message that was never
                    // sent; the core resends), but a bug worth seeing.
                    logger.error("a Raft message batch could not be encoded; dropped", metadata: ["peer": "\(peer.rawValue)", "error": "\(error)"])
                    continue
                }
                let logger = logger
                // A small snapshot travels whole in a batch: its delivery is reported like a
                // stream's, so a lost one is retried promptly.
                let carriesSnapshot = group.contains { if case .installSnapshot = $0.kind { return true } else { return false } }
                Task.immediate {
                    var delivered = true
                    do {
                        try await NakshaActorSystem.$callTimeout.withValue(timeout) { try await remote.deliver(batch) }
                    } catch {
                        delivered = false
                        logger.debug("send dropped", metadata: ["peer": "\(peer.rawValue)", "messages": "\(group.count)", "error": "\(error)"])
                    }
                    if carriesSnapshot { self.snapshotSent(to: peer, delivered: delivered) }
                }
            }
            for message in snapshots {
                streamSnapshot(message, to: remote)
            }
        }
    }

    /// The most message bytes (approximately) sent to a peer in one call: half the actor
    /// transport's 16 MiB frame limit, so one AppendEntries of `maxAppendBytes` plus a
    /// command of `maxCommandBytes` always fits with room to spare.
    static let maxBatchBytes = 8 << 20

    /// Splits messages, in order, into groups of at most `maxBytes` (a message larger than
    /// that goes alone).
    static func batches(_ messages: [RaftMessage], maxBytes: Int) -> [[RaftMessage]] {
        messages.sizeBoundedGroups(maxBytes: maxBytes, size: approximateBytes)
    }

    static func approximateBytes(_ message: RaftMessage) -> Int {
        guard case .appendEntries(let append) = message.kind else { return 64 }
        return append.entries.reduce(64) { total, entry in
            if case .command(let bytes) = entry.payload { return total + 32 + bytes.count }
            return total + 64
        }
    }

    /// Member `id`'s `RaftNode`, resolved at its address in the replicated address book
    /// (cached per address), or nil for an unknown member.
    public func proxy(for id: UInt64) -> RaftNode? { peerNode(ReplicaID(id)) }

    func peerNode(_ peer: ReplicaID) -> RaftNode? {
        guard let address = addresses[peer.rawValue] else { return nil }
        if let cached = peerNodes[peer], cached.address == address { return cached.node }
        guard let remote = try? RaftNode.resolve(id: .wellKnown("raft", on: address), using: actorSystem) else { return nil }
        peerNodes[peer] = (address, remote)
        return remote
    }
}
