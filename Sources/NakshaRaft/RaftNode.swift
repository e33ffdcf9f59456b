import Distributed
import Logging
import NakshaActors
import NakshaWire
import RaftCore

/// One member of a Raft group: owns a `RaftCore`, persists each ready batch to its
/// write-ahead log before sending what depends on it, sends messages to peer `RaftNode`s as
/// distributed calls, and applies committed entries to its state machine.
///
/// Ordering contract (etcd's `Ready`): entries and hard state of a batch are synced before
/// any message of that batch leaves; committed entries are applied in log order, once.
///
/// Besides the application's commands the log carries the group's address book (which
/// node id listens where), so that a learner added at run time is reachable from every
/// member, and a snapshot carries the address book with the state machine.
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
        /// Snapshots larger than this go to a lagging follower in chunks of this size.
        public var snapshotChunkBytes: Int
        /// Deadline of each message batch (and snapshot chunk) sent to a peer.
        public var sendTimeout: Duration

        /// Defaults: 50 ms ticks, heartbeats every 100 ms, elections after 500–1000 ms of
        /// silence (the core randomises within [timeout, 2 × timeout) ticks); see
        /// docs/operations.md for measured failover times.
        public init(
            tickInterval: Duration = .milliseconds(50), electionTimeoutTicks: Int = 10, heartbeatIntervalTicks: Int = 2,
            segmentSizeBytes: Int = 64 << 20, snapshotEveryEntries: UInt64 = 100_000, snapshotChunkBytes: Int = 1 << 20,
            sendTimeout: Duration = .seconds(1)
        ) {
            self.tickInterval = tickInterval
            self.electionTimeoutTicks = electionTimeoutTicks
            self.heartbeatIntervalTicks = heartbeatIntervalTicks
            self.segmentSizeBytes = segmentSizeBytes
            self.snapshotEveryEntries = snapshotEveryEntries
            self.snapshotChunkBytes = snapshotChunkBytes
            self.sendTimeout = sendTimeout
        }
    }

    var core: RaftCore
    var machine: any ReplicatedStateMachine
    let storage: RaftStorage
    /// Where each member listens (this node included): replicated through the log.
    var addresses: [UInt64: NodeAddress]
    let options: Options
    let metrics: RaftMetrics
    /// Leader changes (info), failed background snapshots (warning), dropped sends (debug).
    let logger: Logger
    var applied: LogIndex
    var waiters: [LogIndex: ProposalWaiter] = [:]
    var readWaiters: [UInt64: CheckedContinuation<LogIndex, any Error>] = [:]
    var pendingReads: [(index: LogIndex, continuation: CheckedContinuation<LogIndex, any Error>)] = []
    var nextReadID: UInt64 = 1
    /// Proxies of the peers' `raft` actors, resolved once per address.
    var peerNodes: [ReplicaID: (address: NodeAddress, node: RaftNode)] = [:]
    /// A snapshot arriving in chunks from the leader, until its last chunk.
    var incomingSnapshot: SnapshotAssembly? = nil
    /// The commit index learned when a leader was first known after start; the node is
    /// ready once it has applied up to it.
    var readyIndex: LogIndex? = nil
    var lastLeader: ReplicaID? = nil
    var flushScheduled = false
    /// The snapshot being taken in the background, if any (at most one at a time).
    var snapshotInProgress: LogIndex? = nil
    /// The index of the newest snapshot on disk (the core may have compacted further, for a
    /// snapshot still being written).
    var durableSnapshotIndex: LogIndex

    struct ProposalWaiter {
        var term: Term
        var started: ContinuousClock.Instant
        var continuation: CheckedContinuation<[UInt8], any Error>
    }

    /// Creates the node with the well-known name `raft`, restoring from `directory` if it
    /// holds a log. A node with no log bootstraps a group whose voters are the keys of
    /// `peers`, or, with `join`, starts empty and waits to be added by the leader (as a
    /// learner: `changeMembership(.addLearner…)` on the leader). It logs to `logger`; by
    /// default nowhere (the executable passes its own).
    public static func start(
        id: UInt64, peers: [UInt64: NodeAddress], directory: String, machine: any ReplicatedStateMachine,
        join: Bool = false, options: Options = Options(), metrics: RaftMetrics = RaftMetrics(),
        logger: Logger = Logger(label: "raft", factory: { _ in SwiftLogNoOpLogHandler() }), system: NakshaActorSystem
    ) throws -> RaftNode {
        try NakshaActorSystem.$actorName.withValue("raft") {
            try RaftNode(
                id: id, peers: peers, directory: directory, machine: machine, join: join, options: options, metrics: metrics,
                logger: logger, actorSystem: system)
        }
    }

    private init(
        id: UInt64, peers: [UInt64: NodeAddress], directory: String, machine: any ReplicatedStateMachine, join: Bool,
        options: Options, metrics: RaftMetrics, logger: Logger, actorSystem: ActorSystem
    ) throws {
        let storage = try RaftStorage(directory: directory, segmentSizeBytes: options.segmentSizeBytes, metrics: metrics)
        let voters = peers.keys.sorted().map { ReplicaID($0) }
        let initial = join ? PersistentState.joining : PersistentState.bootstrap(voters: voters)
        let state = try storage.load(initial: initial) ?? initial
        var restored = machine
        var addresses = peers
        if !state.snapshot.data.isEmpty {
            let snapshot = try NodeSnapshot.decode(state.snapshot.data)
            try restored.restore(snapshot.machine)
            addresses.merge(snapshot.addresses) { _, replicated in replicated }
        }
        let configuration = RaftCore.Configuration(
            id: ReplicaID(id), electionTimeoutTicks: options.electionTimeoutTicks,
            heartbeatIntervalTicks: options.heartbeatIntervalTicks, randomSeed: actorSystem.incarnation ^ id
        )
        self.core = RaftCore(configuration: configuration, state: state)
        self.machine = restored
        self.storage = storage
        self.addresses = addresses
        self.options = options
        self.metrics = metrics
        self.logger = logger
        self.applied = state.snapshot.metadata.index
        self.durableSnapshotIndex = state.snapshot.metadata.index
        self.actorSystem = actorSystem
    }

    // MARK: Peer interface

    /// Messages from a peer, in the order it sent them, as `RaftMessageCodec` bytes.
    /// Malformed bytes are a `WireError` and change nothing.
    public distributed func deliver(_ batch: [UInt8]) throws {
        let messages = try RaftMessageCodec.decode(batch)
        for message in messages {
            try? core.step(message)  // malformed or stale input is dropped by the core
        }
        try processReady()
    }

    /// One piece of a snapshot the leader streams to this node; the last one installs it.
    public distributed func installSnapshotChunk(_ chunk: SnapshotChunk) throws {
        guard let message = receive(chunk) else { return }
        try? core.step(message)
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
    /// applied here. Throws `RaftError` `notLeader(leaderHint:)` on a follower.
    public distributed func propose(_ command: [UInt8]) async throws -> [UInt8] {
        do {
            let result = try await append(.machine(command))
            return result
        } catch let error as RaftError {
            metrics.proposalFailed(error.code)
            throw error
        }
    }

    /// Appends `payload` as leader and waits until it is applied here.
    func append(_ payload: NodeCommand) async throws -> [UInt8] {
        let index = try core.propose(payload.encoded())
        return try await waitForApply(index)
    }

    func waitForApply(_ index: LogIndex) async throws -> [UInt8] {
        let term = core.term
        return try await withCheckedThrowingContinuation { continuation in
            // An index is proposed again only after this node lost it to another leader: the
            // earlier proposal there can never apply.
            if let replaced = waiters.updateValue(ProposalWaiter(term: term, started: .now, continuation: continuation), forKey: index) {
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
        do {
            try processReady()
        } catch {
            // The log could not be persisted: fail everyone waiting rather than acknowledge.
            for (index, waiter) in waiters {
                waiters.removeValue(forKey: index)
                waiter.continuation.resume(throwing: error)
            }
        }
    }

    /// Runs `body` on this replica's state machine as it is now: not linearizable (a
    /// follower may lag), for diagnostics and tests. Linearizable reads use
    /// `linearizableRead`, which any member serves after asking the leader's `readIndex()`.
    public func readLocal<T: Sendable>(_ body: @Sendable (any ReplicatedStateMachine) -> T) -> T {
        body(machine)
    }

    /// What recovery of the write-ahead log repaired at start (a torn tail truncated), if
    /// anything: worth a log line.
    public func walRecoveryReport() -> String? { storage.wal.recoveryReport }

}

/// What the log's command entries carry: an application command, or an address-book update.
enum NodeCommand: Sendable {
    case machine([UInt8])
    case address(id: UInt64, address: NodeAddress)

    private static let machineTag: UInt8 = 0
    private static let addressTag: UInt8 = 1

    /// A tag byte, then the command's bytes (no copy of an application command beyond one).
    func encoded() throws -> [UInt8] {
        switch self {
        case .machine(let bytes):
            var out = [UInt8]()
            out.reserveCapacity(bytes.count + 1)
            out.append(Self.machineTag)
            out.append(contentsOf: bytes)
            return out
        case .address(let id, let address):
            return [Self.addressTag] + (try NodeSnapshot.encoder.encode(AddressEntry(id: id, address: address)))
        }
    }

    /// Decodes a committed command; a payload that is neither is `nil` (and is applied as a
    /// no-op on every replica alike).
    static func decode(_ bytes: [UInt8]) -> NodeCommand? {
        guard let tag = bytes.first else { return nil }
        switch tag {
        case machineTag:
            return .machine(Array(bytes[1...]))
        case addressTag:
            guard let entry = try? NodeSnapshot.decoder.decode(AddressEntry.self, from: Array(bytes[1...])) else { return nil }
            return .address(id: entry.id, address: entry.address)
        default:
            return nil
        }
    }

    private struct AddressEntry: Codable {
        var id: UInt64
        var address: NodeAddress
    }
}

extension WireLimits {
    /// Limits for decoding a whole state-machine snapshot: its size is already bounded by
    /// the snapshot store (`SnapshotStore.maxSnapshotBytes`) and every count is checked
    /// against the bytes that remain, so the frame-sized default collection limit (16 Mi
    /// elements) would only refuse large, valid states — as it did a 27 MB one at restart.
    static let snapshot = WireLimits(maxFrameBytes: Int(Int32.max), maxNestingDepth: 128, maxCollectionCount: Int(Int32.max))
}

/// The bytes of a Raft snapshot taken by a `RaftNode`: the address book and the state
/// machine's own snapshot.
struct NodeSnapshot: Codable {
    var addresses: [UInt64: NodeAddress]
    var machine: [UInt8]

    static let encoder = BinaryEncoder()
    static let decoder = BinaryDecoder(limits: .snapshot)

    static func decode(_ bytes: [UInt8]) throws -> NodeSnapshot { try decoder.decode(NodeSnapshot.self, from: bytes) }
    func encoded() throws -> [UInt8] { try Self.encoder.encode(self) }
}

/// What a snapshot is made from, frozen at one applied index: copies of the address book and
/// of the state machine (values: they share storage until the node next changes its own,
/// which then duplicates it once in memory).
struct NodeSnapshotSource: Sendable {
    var addresses: [UInt64: NodeAddress]
    var machine: any ReplicatedStateMachine

    func encoded() throws -> [UInt8] {
        try NodeSnapshot(addresses: addresses, machine: machine.snapshot()).encoded()
    }
}
