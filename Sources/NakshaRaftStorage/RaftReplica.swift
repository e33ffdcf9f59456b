import NakshaCore
import RaftCore

/// A Raft member without its transport: the core, its storage and its state machines, and
/// the ready-processing logic that ties them together. `RaftNode` (an actor, real sockets and
/// disk) and the simulator (simulated network and file system) drive the same code.
///
/// Ordering contract of `processReady` (etcd's `Ready`): for each batch, an installed
/// snapshot is made durable (file, then an install marker in the log), then entries and hard
/// state are written and synced, and only then are the batch's messages handed out (in the
/// returned `Output`), committed entries applied, and the core advanced.
///
/// Fail-stop: the first storage error latches `stopError`, closes the log and is rethrown;
/// every later call throws `nodeStopped` and nothing more is persisted, sent or applied. The
/// process must restart, and recovery runs then. An fsync is never retried.
public final class RaftReplica {
    /// Test-only switches that re-introduce fixed bugs (docs/raft.md, "Mutation check").
    public struct Mutations: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// 1b: a storage error is ignored and the node carries on as if it had persisted.
        public static let ignorePersistErrors = Mutations(rawValue: 1 << 0)
        /// 1a: the configured voters replace the stored membership at restart.
        public static let ignoreStoredMembership = Mutations(rawValue: 1 << 1)
    }

    /// One committed entry as applied here.
    public struct AppliedEntry: Sendable, Equatable {
        public var entry: LogEntry
        /// For command entries: the request id and the state machine's result. A command that
        /// does not decode has no request id and an error result.
        public var requestID: RequestID?
        public var result: [UInt8]?
    }

    /// What one ready batch did; its messages may be sent now (they depend only on what was
    /// synced).
    public struct Output: Sendable {
        public var ready: Ready
        public var applied: [AppliedEntry] = []
        /// The snapshot installed from the leader in this batch, if any.
        public var installed: SnapshotMetadata? = nil
    }

    public private(set) var core: RaftCore
    public let storage: RaftStorage
    public private(set) var host: StateMachineHost
    public private(set) var applied: LogIndex
    /// The newest leader timestamp in this replica's log or state: a proposal is stamped with
    /// at least this, so timestamps never decrease along the log, across leaders too.
    public private(set) var highestTimestampMillis: UInt64
    public private(set) var stopError: (any Error)? = nil
    /// The ready batch whose persist failed and stopped the replica, if any.
    public private(set) var failedReady: Ready? = nil
    public let mutations: Mutations
    /// The largest command accepted by `propose` (its envelope excluded).
    public let maxCommandBytes: Int

    /// Opens the replica stored in `storage`, or bootstraps one there.
    ///
    /// A directory with nothing persisted records `configuredVoters` (or, with `join`, an
    /// empty membership) as its bootstrap membership before anything else. A directory with a
    /// log restarts from it: the stored membership wins, and `configuredVoters` (unless
    /// `join`) must equal either the voters the group was created with or its current
    /// members, else `RaftStartError.membershipMismatch`.
    public init(
        configuration: RaftCore.Configuration, storage: RaftStorage, host: StateMachineHost, configuredVoters: [ReplicaID],
        join: Bool, maxCommandBytes: Int = 4 << 20, mutations: Mutations = []
    ) throws {
        self.storage = storage
        self.mutations = mutations
        self.maxCommandBytes = maxCommandBytes
        var state: PersistentState
        if var loaded = try storage.load() {
            if mutations.contains(.ignoreStoredMembership), !join, loaded.state.snapshot.metadata.index == 0 {
                loaded.state.snapshot.metadata.membership = Membership(voters: configuredVoters)
                loaded.state.entries.removeAll { $0.resultingMembership != nil }
            } else if !join {
                try Self.check(configured: configuredVoters, against: loaded, id: configuration.id)
            }
            state = loaded.state
        } else {
            let membership = join ? Membership() : Membership(voters: configuredVoters)
            try storage.bootstrap(membership, joining: join)
            state = join ? .joining : .bootstrap(voters: configuredVoters)
        }
        var restored = host
        if state.snapshot.metadata.index > 0 {
            guard !state.snapshot.data.isEmpty else {
                throw RaftStartError(
                    .corruptState, "\(storage.snapshots.directory): the snapshot at index \(state.snapshot.metadata.index) holds no state; refusing to start")
            }
            try restored.restore(state.snapshot.data)
        }
        var highest = restored.lastTimestampMillis
        for entry in state.entries {
            if case .command(let bytes) = entry.payload, let stamp = CommandEnvelope.timestamp(of: bytes) { highest = max(highest, stamp) }
        }
        self.host = restored
        self.highestTimestampMillis = highest
        self.applied = state.snapshot.metadata.index
        self.core = RaftCore(configuration: configuration, state: state)
    }

    /// Refuses a configured voter list that matches neither the stored bootstrap voters nor
    /// the current members.
    static func check(configured: [ReplicaID], against loaded: RaftStorage.Loaded, id: ReplicaID) throws {
        let configuredSet = Set(configured)
        let bootstrapVoters = Set(loaded.bootstrapMembership.voters)
        let current = loaded.currentMembership
        if configuredSet == bootstrapVoters || configuredSet == Set(current.members) || configuredSet == Set(current.voters) { return }
        if loaded.joined && configuredSet == [id] { return }
        let stored = Set(current.members)
        let missing = stored.subtracting(configuredSet).sorted().map { "\($0.rawValue)" }
        let extra = configuredSet.subtracting(stored).sorted().map { "\($0.rawValue)" }
        var differences: [String] = []
        if !missing.isEmpty { differences.append("the stored members \(missing.joined(separator: ", ")) are not in --peers") }
        if !extra.isEmpty { differences.append("--peers adds \(extra.joined(separator: ", ")), which the stored membership does not have") }
        throw RaftStartError(
            .membershipMismatch,
            "--peers lists \(configured.sorted().map { "\($0.rawValue)" }) but this node's log says the members are voters \(current.voters.map { "\($0.rawValue)" }) and learners \(current.learners.map { "\($0.rawValue)" }): \(differences.joined(separator: "; ")). The stored membership wins; --peers only bootstraps a new cluster. Change membership with `naksha cluster add-learner` / `promote` / `remove` on the running cluster, and keep --peers as it was")
    }

    // MARK: Input

    /// Throws `nodeStopped` once a storage error stopped this replica.
    public func checkRunning() throws(RaftError) {
        if let stopError { throw RaftError.nodeStopped("\(stopError)") }
    }

    public func tick() throws(RaftError) {
        try checkRunning()
        core.tick()
    }

    /// Steps a peer's message (stale or malformed messages are dropped by the core).
    public func step(_ message: RaftMessage) throws(RaftError) {
        try checkRunning()
        // Safe to drop: the core refuses only stale, misaddressed or malformed messages, and
        // a refused message changes nothing (Raft tolerates loss; the sender retries).
        try? core.step(message)
    }

    /// Appends `command` for sub-machine `machine` as leader, stamped with at least
    /// `nowMillis` and the newest timestamp in the log. Returns its index.
    public func propose(_ command: [UInt8], machine: UInt8, requestID: RequestID, nowMillis: UInt64) throws(RaftError) -> LogIndex {
        try checkRunning()
        guard command.count <= maxCommandBytes else { throw RaftError.commandTooLarge(bytes: command.count, limit: maxCommandBytes) }
        let stamp = max(nowMillis, highestTimestampMillis)
        let envelope = CommandEnvelope(requestID: requestID, timestampMillis: stamp, machine: machine, payload: command)
        let index = try core.propose(envelope.encoded())
        highestTimestampMillis = stamp
        return index
    }

    /// Direct access for admin operations the core owns (transfer, membership, reads).
    public func withCore<T>(_ body: (inout RaftCore) throws(RaftError) -> T) throws(RaftError) -> T {
        try checkRunning()
        return try body(&core)
    }

    // MARK: Ready

    /// Carries out every pending ready batch in the documented order and returns what each
    /// did. On a storage error the replica stops (see the type's contract) and rethrows.
    public func processReady() throws -> [Output] {
        var outputs: [Output] = []
        while let output = try processNextReady() { outputs.append(output) }
        return outputs
    }

    /// Carries out one ready batch, or returns nil if there is none. On a storage error the
    /// replica stops, `failedReady` holds the batch (any prefix of it may be durable), and
    /// the error is rethrown; batches returned before were fully persisted.
    public func processNextReady() throws -> Output? {
        try checkRunning()
        guard core.hasReady else { return nil }
        let ready = core.ready()
        var output = Output(ready: ready)
        do {
            if let snapshot = ready.snapshot, snapshot.metadata.index > applied {
                try installSnapshot(snapshot)
                output.installed = snapshot.metadata
            }
            try storage.persist(entries: ready.entries, hardState: ready.hardState)
        } catch {
            if !mutations.contains(.ignorePersistErrors) {
                failedReady = ready
                stop(error)
                throw error
            }
        }
        for entry in ready.entries {
            if case .command(let bytes) = entry.payload, let stamp = CommandEnvelope.timestamp(of: bytes) {
                highestTimestampMillis = max(highestTimestampMillis, stamp)
            }
        }
        for entry in ready.committedEntries where entry.index > applied {
            output.applied.append(apply(entry))
        }
        core.advance(ready)
        return output
    }

    private func installSnapshot(_ snapshot: Snapshot) throws {
        var restored = host
        try restored.restore(snapshot.data)  // refuse bytes we cannot read before touching the disk
        try storage.install(snapshot)
        host = restored
        applied = snapshot.metadata.index
        highestTimestampMillis = max(highestTimestampMillis, host.lastTimestampMillis)
    }

    private func apply(_ entry: LogEntry) -> AppliedEntry {
        applied = entry.index
        guard case .command(let bytes) = entry.payload else { return AppliedEntry(entry: entry) }
        do {
            let envelope = try CommandEnvelope.decode(bytes)
            let result = host.apply(envelope, index: entry.index, term: entry.term)
            return AppliedEntry(entry: entry, requestID: envelope.requestID, result: result)
        } catch {
            return AppliedEntry(entry: entry, requestID: nil, result: Array("error: \(error)".utf8))  // the same on every replica
        }
    }

    // MARK: Snapshots taken here

    /// Snapshots the state machines at the applied index and compacts the log, synchronously
    /// (the simulator and tests; `RaftNode` splits this to run the encoding and the write off
    /// the node).
    public func takeSnapshot() throws {
        try checkRunning()
        let snapshot = try compact(through: applied, data: try host.snapshot())
        do {
            try storage.save(snapshot)
        } catch {
            try handleStorageError(error)
        }
    }

    /// Compacts the core's log through `index` with `data` (the host's snapshot there).
    public func compact(through index: LogIndex, data: [UInt8]) throws -> Snapshot {
        try checkRunning()
        return try core.compact(through: index, snapshotData: data)
    }

    /// Completes a snapshot written elsewhere: marker, then the covered segments go. A
    /// storage error stops the replica.
    public func logCovered(by snapshot: Snapshot) throws {
        try checkRunning()
        do {
            try storage.logCovered(by: snapshot)
        } catch {
            try handleStorageError(error)
        }
    }

    /// Stops the replica for a storage error raised outside `processReady` (a snapshot file
    /// written off the node), unless the mutation ignores it.
    public func handleStorageError(_ error: any Error) throws {
        if mutations.contains(.ignorePersistErrors) { return }
        stop(error)
        throw error
    }

    private func stop(_ error: any Error) {
        guard stopError == nil else { return }
        stopError = error
        storage.close()
    }
}

/// Why a replica refused to start.
public struct RaftStartError: Error, Sendable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        /// `--peers` disagrees with the membership stored in the log.
        public static let membershipMismatch = Code(name: "membershipMismatch")
        /// What is stored fails a check (the message names the file).
        public static let corruptState = Code(name: "corruptState")
        /// The data directory is empty, but the peers know this node as a member.
        public static let formerMemberWithEmptyDirectory = Code(name: "formerMemberWithEmptyDirectory")
        public var description: String { name }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
