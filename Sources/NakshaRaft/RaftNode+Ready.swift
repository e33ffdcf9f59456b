import Dispatch
import Distributed
import Logging
import NakshaActors
import RaftCore

extension RaftNode {
    // MARK: The ready loop

    /// Drains the core's ready batches: install a snapshot, persist (one sync), send, apply,
    /// release reads, advance, compact.
    func processReady() throws {
        while core.hasReady {
            let ready = core.ready()
            if let snapshot = ready.snapshot, snapshot.metadata.index > applied {
                try install(snapshot)
            }
            try storage.persist(entries: ready.entries, hardState: ready.hardState)
            send(ready.messages)
            for entry in ready.committedEntries where entry.index > applied {
                apply(entry)
            }
            releaseReads()
            for state in ready.readStates {
                readWaiters.removeValue(forKey: state.requestID)?.resume(returning: state.index)
            }
            core.advance(ready)
            failLostProposals()
            compactIfDue()
        }
        observe()
    }

    private func install(_ snapshot: Snapshot) throws {
        let started = ContinuousClock.now
        let contents = try NodeSnapshot.decode(snapshot.data)
        try storage.save(snapshot)
        durableSnapshotIndex = max(durableSnapshotIndex, snapshot.metadata.index)
        try machine.restore(contents.machine)
        addresses.merge(contents.addresses) { _, replicated in replicated }
        applied = snapshot.metadata.index
        // Proposals made here whose entries the snapshot covers were applied elsewhere, or
        // replaced: their results are unknown here. Answer them rather than leave them waiting.
        for (index, waiter) in waiters where index <= applied {
            waiters.removeValue(forKey: index)
            metrics.proposalFailed(.notLeader)
            waiter.continuation.resume(
                throwing: RaftError(
                    code: .notLeader, leaderHint: core.leader,
                    detail: "leadership moved and this node caught up by snapshot; the outcome of the proposal is unknown here, read it back"))
        }
        metrics.snapshotInstalled(duration: .now - started)
    }

    private func apply(_ entry: LogEntry) {
        var result: [UInt8] = []
        if case .command(let bytes) = entry.payload {
            switch NodeCommand.decode(bytes) {
            case .machine(let command):
                result = machine.apply(command, index: entry.index)
            case .address(let id, let address):
                addresses[id] = address
                peerNodes[ReplicaID(id)] = nil
            case nil:
                break
            }
        }
        applied = entry.index
        if let waiter = waiters.removeValue(forKey: entry.index) {
            if waiter.term == entry.term {
                metrics.proposalCommitted(latency: .now - waiter.started)
                waiter.continuation.resume(returning: result)
            } else {
                metrics.proposalFailed(.notLeader)
                waiter.continuation.resume(throwing: RaftError.notLeader(leaderHint: core.leader))
            }
        }
    }

    /// Releases reads that were waiting for the applied index to reach their read index.
    private func releaseReads() {
        guard !pendingReads.isEmpty else { return }
        let ready = pendingReads.filter { $0.index <= applied }
        pendingReads.removeAll { $0.index <= applied }
        for read in ready { read.continuation.resume(returning: read.index) }
    }

    /// A proposal whose entry was overwritten by another leader's can never apply.
    private func failLostProposals() {
        guard core.role != .leader else { return }
        for (index, waiter) in waiters where core.term(at: index).map({ $0 != waiter.term }) ?? false {
            waiters.removeValue(forKey: index)
            metrics.proposalFailed(.notLeader)
            waiter.continuation.resume(throwing: RaftError.notLeader(leaderHint: core.leader))
        }
    }

    /// Starts a snapshot once `snapshotEveryEntries` entries were applied since the last.
    ///
    /// Only a copy of the state is taken here. The machine is a value: the copy shares its
    /// storage, and the node's first change afterwards duplicates it once in memory (a copy,
    /// not an encoding). Serialising, compressing and the synced write — 0.7 s at 100,000
    /// keys when they ran here — happen on a Dispatch thread, outside the node and outside
    /// Swift's cooperative pool, so the node keeps replicating, answering and heartbeating
    /// meanwhile. The log is compacted in memory once the bytes exist, and its segments are
    /// deleted only once the snapshot file is durable: a crash at any point restarts from the
    /// previous snapshot and the full log.
    private func compactIfDue() {
        guard snapshotInProgress == nil, applied >= core.snapshotIndex + options.snapshotEveryEntries else { return }
        let index = applied
        let source = NodeSnapshotSource(addresses: addresses, machine: machine)
        snapshotInProgress = index
        Task { await self.takeSnapshot(of: source, at: index) }
    }

    private func takeSnapshot(of source: NodeSnapshotSource, at index: LogIndex) async {
        defer { snapshotInProgress = nil }
        let started = ContinuousClock.now
        do {
            let data = try await Self.offNode { try source.encoded() }
            // A newer snapshot from the leader may have been installed meanwhile.
            guard index > core.snapshotIndex else { return }
            let snapshot = try core.compact(through: index, snapshotData: data)
            let store = storage.snapshots
            try await Self.offNode { try RaftStorage.write(snapshot, to: store) }
            try storage.logCovered(by: snapshot)
            durableSnapshotIndex = max(durableSnapshotIndex, index)
            metrics.snapshotTaken(duration: .now - started)
        } catch {
            // Nothing is lost: the log stays, and the next snapshot covers it.
            metrics.snapshotFailed()
            logger.warning(
                "snapshot failed; the log is kept and the next snapshot retries",
                metadata: ["index": "\(index)", "error": "\(error)"])
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
            // loss, so a failed send is dropped (the core retries on its own schedule).
            if !plain.isEmpty, let batch = try? RaftMessageCodec.encode(plain) {
                let logger = logger
                Task.immediate {
                    do {
                        try await NakshaActorSystem.$callTimeout.withValue(timeout) { try await remote.deliver(batch) }
                    } catch {
                        logger.debug("send dropped", metadata: ["peer": "\(peer.rawValue)", "messages": "\(plain.count)", "error": "\(error)"])
                    }
                }
            }
            for message in snapshots {
                let chunks = Self.chunks(of: message, size: options.snapshotChunkBytes)
                Task.immediate {
                    // One chunk in flight at a time bounds the memory both sides hold; a
                    // failed chunk abandons the stream (the leader sends a new snapshot later).
                    for chunk in chunks {
                        do {
                            try await NakshaActorSystem.$callTimeout.withValue(timeout) { try await remote.installSnapshotChunk(chunk) }
                        } catch {
                            return
                        }
                    }
                }
            }
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
