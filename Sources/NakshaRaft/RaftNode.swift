import Distributed
import NakshaActors
import NakshaWire
import RaftCore

/// One member of a Raft group: owns a `RaftCore`, persists each ready batch to its
/// write-ahead log before sending what depends on it, sends messages to peer `RaftNode`s as
/// distributed calls, and applies committed entries to its state machine.
///
/// Ordering contract (etcd's `Ready`): entries and hard state of a batch are synced before
/// any message of that batch leaves; committed entries are applied in log order, once.
public distributed actor RaftNode: RemoteCallable {
    public typealias ActorSystem = NakshaActorSystem

    /// Timing and storage settings.
    public struct Options: Sendable {
        public var tickInterval: Duration
        public var electionTimeoutTicks: Int
        public var heartbeatIntervalTicks: Int
        public var segmentSizeBytes: Int
        /// Take a snapshot and compact the log after this many applied entries.
        public var snapshotEveryEntries: UInt64

        public init(
            tickInterval: Duration = .milliseconds(50), electionTimeoutTicks: Int = 20, heartbeatIntervalTicks: Int = 2,
            segmentSizeBytes: Int = 64 << 20, snapshotEveryEntries: UInt64 = 10_000
        ) {
            self.tickInterval = tickInterval
            self.electionTimeoutTicks = electionTimeoutTicks
            self.heartbeatIntervalTicks = heartbeatIntervalTicks
            self.segmentSizeBytes = segmentSizeBytes
            self.snapshotEveryEntries = snapshotEveryEntries
        }
    }

    private var core: RaftCore
    private var machine: any ReplicatedStateMachine
    private let storage: RaftStorage
    private let peers: [ReplicaID: NodeAddress]
    private let options: Options
    private var applied: LogIndex
    private var waiters: [LogIndex: (term: Term, continuation: CheckedContinuation<[UInt8], any Error>)] = [:]
    private var readWaiters: [UInt64: CheckedContinuation<LogIndex, any Error>] = [:]
    private var pendingReads: [(index: LogIndex, continuation: CheckedContinuation<LogIndex, any Error>)] = []
    private var nextReadID: UInt64 = 1
    /// Proxies of the peers' `raft` actors, resolved once.
    private var peerNodes: [ReplicaID: RaftNode] = [:]

    /// Creates the node with the well-known name `raft`, restoring from `directory` if it
    /// holds a log, else bootstrapping a group whose voters are the keys of `peers`.
    public static func start(
        id: UInt64, peers: [UInt64: NodeAddress], directory: String, machine: any ReplicatedStateMachine,
        options: Options = Options(), system: NakshaActorSystem
    ) throws -> RaftNode {
        try NakshaActorSystem.$actorName.withValue("raft") {
            try RaftNode(id: id, peers: peers, directory: directory, machine: machine, options: options, actorSystem: system)
        }
    }

    private init(
        id: UInt64, peers: [UInt64: NodeAddress], directory: String, machine: any ReplicatedStateMachine,
        options: Options, actorSystem: ActorSystem
    ) throws {
        let storage = try RaftStorage(directory: directory, segmentSizeBytes: options.segmentSizeBytes)
        let voters = peers.keys.sorted().map { ReplicaID($0) }
        let state = try storage.load() ?? PersistentState.bootstrap(voters: voters)
        var restored = machine
        if !state.snapshot.data.isEmpty { try restored.restore(state.snapshot.data) }
        let configuration = RaftCore.Configuration(
            id: ReplicaID(id), electionTimeoutTicks: options.electionTimeoutTicks,
            heartbeatIntervalTicks: options.heartbeatIntervalTicks, randomSeed: actorSystem.incarnation ^ id
        )
        var addresses: [ReplicaID: NodeAddress] = [:]
        for (peer, address) in peers where peer != id { addresses[ReplicaID(peer)] = address }
        self.core = RaftCore(configuration: configuration, state: state)
        self.machine = restored
        self.storage = storage
        self.peers = addresses
        self.options = options
        self.applied = state.snapshot.metadata.index
        self.actorSystem = actorSystem
    }

    // MARK: Peer interface

    /// Messages from a peer, in the order it sent them.
    public distributed func deliver(_ messages: [RaftMessage]) throws {
        for message in messages {
            try? core.step(message)  // malformed or stale input is dropped by the core
        }
        try processReady()
    }

    public static let remoteCallTargets: Set<String> = [
        "$s10NakshaRaft0B4NodeC7deliveryySay0B4Core0B7MessageVGYaKFTE",
        "$s10NakshaRaft0B4NodeC6statusAC6StatusVyYaKFTE",
        "$s10NakshaRaft0B4NodeC7proposeySays5UInt8VGAGYaKFTE",
    ]

    // MARK: Local interface

    /// Drives the logical clock until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: options.tickInterval)
            } catch {
                return
            }
            core.tick()
            try? processReady()
        }
    }

    /// Proposes `command`; returns the state machine's result once it is committed and
    /// applied here. Throws `RaftError.notLeader(leaderHint:)` on a follower.
    public distributed func propose(_ command: [UInt8]) async throws -> [UInt8] {
        let index = try core.propose(command)
        let term = core.term
        return try await withCheckedThrowingContinuation { continuation in
            waiters[index] = (term, continuation)
            do {
                try processReady()
            } catch {
                if let waiter = waiters.removeValue(forKey: index) { waiter.continuation.resume(throwing: error) }
            }
        }
    }

    /// A linearizable read: waits until this node has applied everything committed when the
    /// read started (ReadIndex), then runs `body` on the state machine.
    public func read<T: Sendable>(_ body: @Sendable (any ReplicatedStateMachine) -> T) async throws -> T {
        let requestID = nextReadID
        nextReadID += 1
        let index: LogIndex = try await withCheckedThrowingContinuation { continuation in
            readWaiters[requestID] = continuation
            do {
                try core.readIndex(requestID: requestID)
                try processReady()
            } catch {
                if let waiter = readWaiters.removeValue(forKey: requestID) { waiter.resume(throwing: error) }
            }
        }
        if applied < index {
            _ = try await withCheckedThrowingContinuation { continuation in
                pendingReads.append((index, continuation))
            }
        }
        return body(machine)
    }

    /// Runs `body` on this replica's state machine as it is now: not linearizable (a
    /// follower may lag), for diagnostics and tests. Linearizable reads use `read`, which only
    /// the leader serves (followers throw `notLeader` with a hint).
    public func readLocal<T: Sendable>(_ body: @Sendable (any ReplicatedStateMachine) -> T) -> T {
        body(machine)
    }

    /// Role, term, leader, commit and applied index, and each peer's match index (leader only).
    public struct Status: Sendable, Codable, Equatable {
        public var id: UInt64
        public var role: String
        public var term: UInt64
        public var leader: UInt64?
        public var commitIndex: UInt64
        public var appliedIndex: UInt64
        public var matchIndex: [UInt64: UInt64]
    }

    public distributed func status() -> Status {
        var matches: [UInt64: UInt64] = [:]
        for peer in peers.keys { if let match = core.matchIndex(of: peer) { matches[peer.rawValue] = match } }
        return Status(
            id: core.id.rawValue, role: "\(core.role)", term: core.term, leader: core.leader?.rawValue,
            commitIndex: core.commitIndex, appliedIndex: applied, matchIndex: matches
        )
    }

    // MARK: The ready loop

    private func processReady() throws {
        while core.hasReady {
            let ready = core.ready()
            if let snapshot = ready.snapshot, snapshot.metadata.index > applied {
                try storage.save(snapshot)
                try machine.restore(snapshot.data)
                applied = snapshot.metadata.index
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
            try compactIfDue()
        }
    }

    private func apply(_ entry: LogEntry) {
        var result: [UInt8] = []
        if case .command(let bytes) = entry.payload {
            result = machine.apply(bytes, index: entry.index)
        }
        applied = entry.index
        if let waiter = waiters.removeValue(forKey: entry.index) {
            if waiter.term == entry.term {
                waiter.continuation.resume(returning: result)
            } else {
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
            waiter.continuation.resume(throwing: RaftError.notLeader(leaderHint: core.leader))
        }
    }

    private func compactIfDue() throws {
        guard applied >= core.snapshotIndex + options.snapshotEveryEntries else { return }
        let snapshot = try core.compact(through: applied, snapshotData: machine.snapshot())
        try storage.save(snapshot)
    }

    private func send(_ messages: [RaftMessage]) {
        guard !messages.isEmpty else { return }
        var byPeer: [ReplicaID: [RaftMessage]] = [:]
        for message in messages { byPeer[message.to, default: []].append(message) }
        for (peer, batch) in byPeer {
            guard let remote = peerNode(peer) else { continue }
            // Started immediately so that batches to one peer leave in order; Raft tolerates
            // loss, so a failed send is dropped (the core retries on its own schedule).
            Task.immediate {
                try? await NakshaActorSystem.$callTimeout.withValue(.seconds(1)) { try await remote.deliver(batch) }
            }
        }
    }

    private func peerNode(_ peer: ReplicaID) -> RaftNode? {
        if let cached = peerNodes[peer] { return cached }
        guard let address = peers[peer], let remote = try? RaftNode.resolve(id: .wellKnown("raft", on: address), using: actorSystem) else {
            return nil
        }
        peerNodes[peer] = remote
        return remote
    }
}
