import Distributed
import Glibc
import Logging
import NakshaActors
import NakshaCore
@_exported import NakshaRaftStorage
import NakshaWire
import RaftCore

/// One member of a Raft group: the actor shell around a `RaftReplica` (core, write-ahead
/// log, snapshots, state machines, ready processing). It sends messages to peer `RaftNode`s
/// as distributed calls, runs the clock, and turns applied entries into answers for waiting
/// proposals and reads.
///
/// Ordering contract (etcd's `Ready`): entries and hard state of a batch are synced before
/// any message of that batch leaves; committed entries are applied in log order, once.
///
/// Fail-stop: an error writing or syncing the log or a snapshot stops the node — every
/// waiter is failed with `nodeStopped`, nothing more is persisted, sent or applied, and
/// `Options.onStop` is called (the coordinator logs it as critical and exits non-zero).
/// Recovery runs at the next start.
///
/// Waiters end: every proposal and read has a deadline; reads the core dropped on a role or
/// term change are failed with `notLeader`, proposals whose entry was replaced with
/// `notLeader`, and proposals whose outcome cannot be known here with `outcomeUnknown`.
///
/// Besides the application's state machines the log carries the group's address book (which
/// node id listens where, sub-machine 255), so that a learner added at run time is reachable
/// from every member.
public distributed actor RaftNode: RemoteCallable {
    public typealias ActorSystem = NakshaActorSystem

    /// The sub-machine tag of the address book.
    static let addressBookTag: UInt8 = 255
    /// The sub-machine tag `propose(_:)` and `machine:` use.
    public static let primaryMachineTag: UInt8 = 0

    /// Timing and storage settings.
    public struct Options: Sendable {
        public var tickInterval: Duration
        public var electionTimeoutTicks: Int
        public var heartbeatIntervalTicks: Int
        public var segmentSizeBytes: Int
        /// Take a snapshot and compact the log after this many applied entries.
        public var snapshotEveryEntries: UInt64
        /// Snapshots larger than this go to a lagging follower in chunks of this size.
        public var snapshotChunkBytes: Int
        /// Deadline of each message batch (and snapshot chunk) sent to a peer.
        public var sendTimeout: Duration
        /// The largest command `propose` accepts (`commandTooLarge` above it). With the
        /// envelope and one AppendEntries' other entries it must stay below the actor
        /// transport's frame limit (16 MiB).
        public var maxCommandBytes: Int
        /// The most entry bytes in one AppendEntries (at least one entry is always sent).
        public var maxAppendBytes: Int
        /// How long a local proposal waits to be applied before it is answered
        /// `outcomeUnknown`, and a read before `deadlineExceeded`.
        public var requestTimeout: Duration
        /// Called once if the node stops after a storage failure (fail-stop).
        public var onStop: (@Sendable (any Error) -> Void)?
        /// TEST-ONLY: re-introduce fixed storage bugs (see docs/raft.md).
        public var testingReplicaMutations: RaftReplica.Mutations = []

        /// Defaults: 50 ms ticks, heartbeats every 100 ms, elections after 500–1000 ms of
        /// silence (the core randomises within [timeout, 2 × timeout) ticks); see
        /// docs/operations.md for measured failover times.
        public init(
            tickInterval: Duration = .milliseconds(50), electionTimeoutTicks: Int = 10, heartbeatIntervalTicks: Int = 2,
            segmentSizeBytes: Int = 64 << 20, snapshotEveryEntries: UInt64 = 100_000, snapshotChunkBytes: Int = 1 << 20,
            sendTimeout: Duration = .seconds(1), maxCommandBytes: Int = 4 << 20, maxAppendBytes: Int = 1 << 20,
            requestTimeout: Duration = .seconds(10), onStop: (@Sendable (any Error) -> Void)? = nil
        ) {
            precondition(maxCommandBytes + maxAppendBytes + (64 << 10) < 16 << 20, "commands and AppendEntries batches must fit in a 16 MiB frame")
            self.tickInterval = tickInterval
            self.electionTimeoutTicks = electionTimeoutTicks
            self.heartbeatIntervalTicks = heartbeatIntervalTicks
            self.segmentSizeBytes = segmentSizeBytes
            self.snapshotEveryEntries = snapshotEveryEntries
            self.snapshotChunkBytes = snapshotChunkBytes
            self.sendTimeout = sendTimeout
            self.maxCommandBytes = maxCommandBytes
            self.maxAppendBytes = maxAppendBytes
            self.requestTimeout = requestTimeout
            self.onStop = onStop
        }
    }

    let replica: RaftReplica
    /// The core as it is now (read-only; changes go through `replica`).
    var core: RaftCore { replica.core }
    var applied: LogIndex { replica.applied }
    let options: Options
    let metrics: RaftMetrics
    /// Leader changes (info), failed background snapshots (warning), dropped sends (debug),
    /// the storage failure that stops the node (critical).
    let logger: Logger
    var waiters: [LogIndex: ProposalWaiter] = [:]
    var readWaiters: [UInt64: ReadWaiter] = [:]
    var pendingReads: [(index: LogIndex, deadline: ContinuousClock.Instant, continuation: CheckedContinuation<Void, any Error>)] = []
    var nextReadID: UInt64 = 1
    /// The request ids `propose(_:)` stamps: a random client id for this process, counted up.
    let localClient = RequestID.random().client
    var nextLocalSequence: UInt64 = 1
    /// Proxies of the peers' `raft` actors, resolved once per address.
    var peerNodes: [ReplicaID: (address: NodeAddress, node: RaftNode)] = [:]
    /// A snapshot arriving in chunks from the leader, until its last chunk.
    var incomingSnapshot: SnapshotAssembly? = nil
    /// The snapshot stream being sent to each peer: its id; an older stream stops sending.
    var outgoingSnapshotStreams: [ReplicaID: UInt64] = [:]
    var nextSnapshotStreamID: UInt64 = 1
    /// The commit index learned when a leader was first known after start; the node is
    /// ready once it has applied up to it.
    var readyIndex: LogIndex? = nil
    var lastLeader: ReplicaID? = nil
    var lastRoleAndTerm: (RaftRole, Term)? = nil
    var flushScheduled = false
    /// Members that sent this node a message since it started (see `Status.heardFrom`).
    var heardFrom: Set<UInt64> = []
    /// Set once the node stopped after a storage failure and said so.
    var stopAnnounced = false
    /// The snapshot being taken in the background, if any (at most one at a time).
    var snapshotInProgress: LogIndex? = nil
    /// The index of the newest snapshot on disk (the core may have compacted further, for a
    /// snapshot still being written).
    var durableSnapshotIndex: LogIndex

    struct ProposalWaiter {
        /// Nil for an entry without one (a membership change): matched by term instead.
        var requestID: RequestID?
        var term: Term
        var started: ContinuousClock.Instant
        var deadline: ContinuousClock.Instant
        var continuation: CheckedContinuation<[UInt8], any Error>
    }

    struct ReadWaiter {
        var deadline: ContinuousClock.Instant
        var continuation: CheckedContinuation<LogIndex, any Error>
    }

    /// Creates the node with the well-known name `raft`, restoring from `directory` if it
    /// holds a log. A node with no log records its bootstrap membership first: a group whose
    /// voters are the keys of `peers`, or, with `join`, none (it waits to be added by the
    /// leader as a learner). A node with a log restarts from it: the stored membership wins,
    /// and `peers` must agree with it (`RaftStartError.membershipMismatch` otherwise).
    /// `machines` are the application's state machines by tag (0 for `machine`). It logs to
    /// `logger`; by default nowhere (the executable passes its own).
    public static func start(
        id: UInt64, peers: [UInt64: NodeAddress], directory: String, machine: any ReplicatedStateMachine,
        additionalMachines: [UInt8: any ReplicatedStateMachine] = [:], join: Bool = false, options: Options = Options(),
        metrics: RaftMetrics = RaftMetrics(),
        logger: Logger = Logger(label: "raft", factory: { _ in SwiftLogNoOpLogHandler() }), system: NakshaActorSystem
    ) throws -> RaftNode {
        var machines = additionalMachines
        machines[primaryMachineTag] = machine
        precondition(machines[addressBookTag] == nil, "sub-machine 255 is the address book")
        machines[addressBookTag] = AddressBook(addresses: [:])
        return try NakshaActorSystem.$actorName.withValue("raft") {
            try RaftNode(
                id: id, peers: peers, directory: directory, machines: machines, join: join, options: options, metrics: metrics,
                logger: logger, actorSystem: system)
        }
    }

    private init(
        id: UInt64, peers: [UInt64: NodeAddress], directory: String, machines: [UInt8: any ReplicatedStateMachine], join: Bool,
        options: Options, metrics: RaftMetrics, logger: Logger, actorSystem: ActorSystem
    ) throws {
        let storage = try RaftStorage(
            directory: directory, segmentSizeBytes: options.segmentSizeBytes, syncObserver: { metrics.walSynced(duration: $0) })
        let configuration = RaftCore.Configuration(
            id: ReplicaID(id), electionTimeoutTicks: options.electionTimeoutTicks,
            heartbeatIntervalTicks: options.heartbeatIntervalTicks, maxMessageBytes: options.maxAppendBytes,
            randomSeed: actorSystem.incarnation ^ id
        )
        var host = StateMachineHost(machines)
        host.update(Self.addressBookTag, as: AddressBook.self) { book in
            for (peer, address) in peers { book.addresses[peer] = address }
        }
        self.replica = try RaftReplica(
            configuration: configuration, storage: storage, host: host, configuredVoters: peers.keys.sorted().map { ReplicaID($0) },
            join: join, maxCommandBytes: options.maxCommandBytes, mutations: options.testingReplicaMutations)
        self.options = options
        self.metrics = metrics
        self.logger = logger
        self.durableSnapshotIndex = replica.core.snapshotIndex
        self.actorSystem = actorSystem
    }

    /// Where each member listens (this node included): the replicated address book, with
    /// `--peers` as the starting point.
    var addresses: [UInt64: NodeAddress] {
        (replica.host[Self.addressBookTag] as? AddressBook)?.addresses ?? [:]
    }

    // MARK: Peer interface

    /// Messages from a peer, in the order it sent them, as `RaftMessageCodec` bytes.
    /// Malformed bytes are a `WireError` and change nothing. A stopped node refuses.
    public distributed func deliver(_ batch: [UInt8]) throws {
        try replica.checkRunning()
        let messages = try RaftMessageCodec.decode(batch)
        for message in messages {
            try replica.step(message)  // malformed or stale input is dropped by the core
        }
        if let first = messages.first { heardFrom.insert(first.from.rawValue) }
        try processReady()
    }

    /// One piece of a snapshot the leader streams to this node; the last one installs it.
    public distributed func installSnapshotChunk(_ chunk: SnapshotChunk) throws {
        try replica.checkRunning()
        guard let message = receive(chunk) else { return }
        try replica.step(message)
        try processReady()
    }

    public static let remoteCalls: [String: RemoteCall<RaftNode>] = [
        "$s10NakshaRaft0B4NodeC7deliveryySays5UInt8VGYaKFTE": .void { node, arguments in
            try await node.deliver(arguments.decodeNextArgument())
        },
        "$s10NakshaRaft0B4NodeC20installSnapshotChunkyyAA0eF0VYaKFTE": .void { node, arguments in
            try await node.installSnapshotChunk(arguments.decodeNextArgument())
        },
        "$s10NakshaRaft0B4NodeC6statusAC6StatusVyYaKFTE": .returning { node, _ in
            try await node.status()
        },
        "$s10NakshaRaft0B4NodeC7proposeySays5UInt8VGAGYaKFTE": .returning { node, arguments in
            try await node.propose(arguments.decodeNextArgument())
        },
        "$s10NakshaRaft0B4NodeC14proposeRequestySays5UInt8VGAA8ProposalVYaKFTE": .returning { node, arguments in
            try await node.proposeRequest(arguments.decodeNextArgument())
        },
        "$s10NakshaRaft0B4NodeC18transferLeadership2toys6UInt64V_tYaKFTE": .void { node, arguments in
            try await node.transferLeadership(to: arguments.decodeNextArgument())
        },
        "$s10NakshaRaft0B4NodeC9readIndexs6UInt64VyYaKFTE": .returning { node, _ in
            try await node.readIndex()
        },
        "$s10NakshaRaft0B4NodeC16changeMembershipyyAA0E7RequestOYaKFTE": .void { node, arguments in
            try await node.changeMembership(arguments.decodeNextArgument())
        },
    ]

    // MARK: Client interface

    /// Drives the logical clock until the task is cancelled or the node stops; ends waiters
    /// whose deadline passed.
    public func run() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: options.tickInterval)
            } catch {
                return
            }
            guard replica.stopError == nil else { return }
            do {
                try replica.tick()
                try processReady()
            } catch {
                return  // fail-stop already happened in processReady
            }
            expireWaiters(now: .now)
        }
    }

    /// Whether the node stopped after a storage failure, and why.
    public var stopReason: String? { replica.stopError.map { "\($0)" } }

    /// Proposes `command` for the primary state machine with a fresh request id; returns the
    /// state machine's result once it is committed and applied here. Throws `RaftError`
    /// `notLeader(leaderHint:)` on a follower (nothing was appended: safe to retry),
    /// `outcomeUnknown` when the command may or may not apply, `commandTooLarge`.
    public distributed func propose(_ command: [UInt8]) async throws -> [UInt8] {
        let requestID = RequestID(client: localClient, sequence: nextLocalSequence)
        nextLocalSequence += 1
        return try await proposeRequest(Proposal(requestID: requestID, machine: Self.primaryMachineTag, command: command))
    }

    /// Proposes a command with the caller's request id for sub-machine `proposal.machine`. A
    /// request id already applied (and still in the window) is not applied again: its first
    /// result is returned. So a caller that got `outcomeUnknown` may retry with the same id.
    public distributed func proposeRequest(_ proposal: Proposal) async throws -> [UInt8] {
        do {
            let index = try replica.propose(
                proposal.command, machine: proposal.machine, requestID: proposal.requestID, nowMillis: Self.wallClockMillis())
            return try await waitForApply(index, requestID: proposal.requestID)
        } catch let error as RaftError {
            metrics.proposalFailed(error.code)
            throw error
        }
    }

    /// Proposes a command only if this node still leads in `term` (the fence of leader-only
    /// loops, `LeaderLoop`): `notLeader` otherwise, with nothing appended.
    public func propose(_ command: [UInt8], machine: UInt8, requestID: RequestID, asLeaderOf term: UInt64) async throws -> [UInt8] {
        guard core.role == .leader, core.term == term else {
            metrics.proposalFailed(.notLeader)
            throw RaftError(
                code: .notLeader, leaderHint: core.leader,
                detail: "not the leader of term \(term) any more (now \(core.role) in term \(core.term)); a leader-only loop stops here")
        }
        return try await proposeRequest(Proposal(requestID: requestID, machine: machine, command: command))
    }

    /// Appends an address-book update as leader and waits until it is applied here.
    func appendAddress(id: UInt64, address: NodeAddress) async throws {
        let requestID = RequestID(client: localClient, sequence: nextLocalSequence)
        nextLocalSequence += 1
        let command = try AddressBook.encode(id: id, address: address)
        let index = try replica.propose(command, machine: Self.addressBookTag, requestID: requestID, nowMillis: Self.wallClockMillis())
        _ = try await waitForApply(index, requestID: requestID)
    }

    func waitForApply(_ index: LogIndex, requestID: RequestID?) async throws -> [UInt8] {
        let term = core.term
        let now = ContinuousClock.now
        return try await withCheckedThrowingContinuation { continuation in
            // An index is proposed again only after this node lost it to another leader: the
            // earlier proposal there can never apply.
            let waiter = ProposalWaiter(
                requestID: requestID, term: term, started: now, deadline: now + options.requestTimeout, continuation: continuation)
            if let replaced = waiters.updateValue(waiter, forKey: index) {
                metrics.proposalFailed(.notLeader)
                replaced.continuation.resume(throwing: RaftError.notLeader(leaderHint: core.leader))
            }
            scheduleFlush()
        }
    }

    /// Group commit: proposals that arrive while a batch is being persisted are appended to
    /// the core and flushed together by one task (one `fdatasync` for all of them), instead
    /// of one sync each.
    func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        Task { self.flush() }
    }

    private func flush() {
        flushScheduled = false
        try? processReady()  // a storage error already stopped the node and failed every waiter
    }

    /// Runs `body` on this replica's primary state machine as it is now: not linearizable (a
    /// follower may lag), for diagnostics and tests. Linearizable reads use
    /// `linearizableRead`, which any member serves after asking the leader's `readIndex()`.
    public func readLocal<T: Sendable>(_ body: @Sendable (any ReplicatedStateMachine) -> T) -> T {
        guard let machine = replica.host[Self.primaryMachineTag] else { preconditionFailure("start(machine:) always hosts the primary machine") }
        return body(machine)
    }

    /// Runs `body` on sub-machine `machine` as it is now (not linearizable), or nil if this
    /// node hosts no such machine.
    public func readLocal<T: Sendable>(machine: UInt8, _ body: @Sendable (any ReplicatedStateMachine) -> T) -> T? {
        replica.host[machine].map(body)
    }

    /// What recovery of the write-ahead log repaired at start (a torn tail truncated), if
    /// anything: worth a log line.
    public func walRecoveryReport() -> String? {
        [replica.storage.wal.recoveryReport, replica.storage.repairReport].compactMap { $0 }.joined(separator: "; ").nilIfEmpty
    }

    static func wallClockMillis() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
    }
}

/// A command with the caller's request id, for sub-machine `machine`.
public struct Proposal: Sendable, Codable, Equatable {
    public var requestID: RequestID
    public var machine: UInt8
    public var command: [UInt8]

    public init(requestID: RequestID, machine: UInt8 = RaftNode.primaryMachineTag, command: [UInt8]) {
        self.requestID = requestID
        self.machine = machine
        self.command = command
    }
}

/// Where each member listens: a replicated sub-machine (255), so that a learner added at run
/// time is reachable from every member. Snapshot: version byte (1), then the binary codec.
struct AddressBook: ReplicatedStateMachine {
    var addresses: [UInt64: NodeAddress]

    private struct Entry: Codable {
        var id: UInt64
        var address: NodeAddress
    }

    private struct Stored: Codable {
        var addresses: [UInt64: NodeAddress]
    }

    static let encoder = BinaryEncoder()
    static let decoder = BinaryDecoder(limits: .snapshot)

    static func encode(id: UInt64, address: NodeAddress) throws -> [UInt8] {
        try encoder.encode(Entry(id: id, address: address))
    }

    mutating func apply(_ command: [UInt8], context: ApplyContext) -> [UInt8] {
        // A command that does not decode is answered with the same error on every replica and
        // changes nothing: dropping the decoding error keeps replicas identical.
        guard let entry = try? Self.decoder.decode(Entry.self, from: command) else { return Array("error: not an address".utf8) }
        addresses[entry.id] = entry.address
        return Array("ok".utf8)
    }

    func snapshot() throws -> [UInt8] {
        [1] + (try Self.encoder.encode(Stored(addresses: addresses)))
    }

    mutating func restore(_ snapshot: [UInt8]) throws {
        guard snapshot.first == 1 else {
            throw StateMachineError(.unknownVersion, "address book snapshot version \(snapshot.first.map { "\($0)" } ?? "none") is unknown to this build")
        }
        addresses = try Self.decoder.decode(Stored.self, from: Array(snapshot[1...])).addresses
    }
}

extension String {
    fileprivate var nilIfEmpty: String? { isEmpty ? nil : self }
}
