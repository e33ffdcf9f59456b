import CoreMetrics
import Logging
import NakshaClusterAPI
import NakshaCore
import NakshaState
import NakshaStore
import NakshaVector

/// The shards a worker serves: the replicas the shard map places on it, loaded from the cold
/// store and kept caught up with it, answering routers' searches (`ShardEndpoint`).
///
/// - Assignments arrive by a long poll on the map's epoch (`followAssignments`); a new
///   replica is loaded (one at a time, so the memory check sees every loaded replica), a
///   removed one is dropped.
/// - Loading pages through the shard's changes in sequence order; the replica serves only
///   once the load finished (`ready`). Changes after that are applied by a catch-up — on a
///   router's hint after an upsert, before a read-your-writes search that asks for a newer
///   sequence, and by a poll every second — each change once, in sequence order.
/// - The memory budget: a load or a catch-up that would take the worker's replicas past its
///   budget stops and the replica is `refused` (dropped from memory) — logged, counted in
///   `naksha_worker_shard_refusals_total{reason}`, shown by `naksha shards list` — never an
///   out-of-memory kill. Routers ask another replica.
/// - Searches run outside the actor, concurrently, under each replica's read lock; changes
///   are applied in place under its write lock a slice at a time (`ServedReplica`), so reads
///   are served while a replica is written, and a write never copies the index.
/// - HNSW replicas are saved to the cold store (`naksha_shard_snapshots`) after a build and
///   again once a quarter of the replica (at least `snapshotMinimumChanges`) changed; a
///   load (a move's target, a restarted worker) starts from the newest snapshot and applies
///   only the changes after it, instead of rebuilding the graph. A damaged or mismatched
///   snapshot is rejected (logged, counted in `naksha_worker_shard_snapshots_rejected_total`)
///   and the replica is built from its vectors.
actor ShardServer: ShardBackend {
    enum Slot {
        case loading(AssignedShard)
        case ready(ServedReplica)
        case refused(AssignedShard, reason: String)
        /// No longer placed here, still answering for `drainPeriod` so routers whose map is
        /// a little behind do not miss it.
        case draining(ServedReplica)
    }

    /// An HNSW replica is saved again once a quarter of it changed since its last snapshot, and
    /// at least this many changes: a load then replays at most about a quarter of a rebuild,
    /// and the bytes saved over a replica's growth stay within a few times its final size.
    static let snapshotMinimumChanges = 100

    /// How long a replica that left this worker keeps answering.
    static let drainPeriod: Duration = .seconds(5)
    private var connection: ClusterConnection?

    let worker: WorkerID
    let memoryBudgetBytes: UInt64
    let coldStore: PostgresColdStore?
    let logger: Logger
    private var slots: [ShardKey: Slot] = [:]
    private var assigned: [ShardKey: AssignedShard] = [:]
    private(set) var epoch: UInt64 = 0
    private var loadQueue: [ShardKey] = []
    private var loading = false
    /// Bytes of replicas loaded or being loaded (a load reserves what it has read so far).
    private var reservedBytes: [ShardKey: Int] = [:]
    /// Changes applied to a replica since it was last saved or loaded from a snapshot.
    private var changesSinceSnapshot: [ShardKey: Int] = [:]
    private var savingSnapshots: Set<ShardKey> = []
    /// When a replica whose snapshot could not be saved is tried again.
    private var snapshotRetryAt: [ShardKey: ContinuousClock.Instant] = [:]
    /// Replicas whose snapshot is being encoded (under their read lock), with the catch-ups
    /// waiting for it to end.
    private var encoding: [ShardKey: [CheckedContinuation<Void, Never>]] = [:]
    /// Replicas refused for the memory budget whose refusal the map has not taken in yet.
    private var refusedForMemory: Set<ShardKey> = []
    static let pageSize = 10_000

    init(worker: WorkerID, memoryBudgetBytes: UInt64, coldStore: PostgresColdStore?, logger: Logger) {
        self.worker = worker
        self.memoryBudgetBytes = memoryBudgetBytes
        self.coldStore = coldStore
        self.logger = logger
    }

    // MARK: Assignments

    /// Follows the map until cancelled: long-polls `shardAssignments` and applies each answer.
    func followAssignments(_ connection: ClusterConnection) async {
        guard coldStore != nil else { return }
        self.connection = connection
        var failures = 0
        while !Task.isCancelled {
            let request = ShardAssignmentRequest(worker: worker, afterEpoch: epoch, waitMillis: 10_000)
            do {
                let answer = try await connection.call("shardAssignments", within: .seconds(15), callTimeout: .seconds(15)) {
                    try await $0.shardAssignments(request)
                }
                failures = 0
                apply(answer)
            } catch is CancellationError {
                return
            } catch {
                failures += 1
                if failures == 1 || failures % 20 == 0 { logger.warning("cannot read the shard map; retrying", metadata: ["error": "\(error)"]) }
                do { try await Task.sleep(for: .milliseconds(500)) } catch { return }
            }
        }
    }

    /// Catches every ready replica up once a second until cancelled.
    func pollChanges() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(1)) } catch { return }
            for key in slots.keys.sorted() {
                guard case .ready = slots[key] else { continue }
                do {
                    try await catchUp(key, to: nil)
                } catch {
                    logger.debug("shard catch-up failed", metadata: ["shard": "\(key)", "error": "\(error)"])
                }
            }
        }
    }

    func apply(_ assignments: ShardAssignments) {
        guard assignments.epoch >= epoch else { return }
        epoch = assignments.epoch
        let wanted = Dictionary(assignments.shards.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        for key in assigned.keys.sorted() where wanted[key] == nil || wanted[key]?.spec != assigned[key]?.spec {
            assigned[key] = nil
            reservedBytes[key] = nil
            refusedForMemory.remove(key)
            changesSinceSnapshot[key] = nil
            snapshotRetryAt[key] = nil
            loadQueue.removeAll { $0 == key }
            if case .ready(let replica) = slots[key] {
                slots[key] = .draining(replica)
                Task {
                    do {
                        try await Task.sleep(for: Self.drainPeriod)
                    } catch {
                        // Cancelled (the worker is stopping): release at once; the data stays in the cold store.
                    }
                    self.release(key)
                }
                logger.info("shard replica draining", metadata: ["shard": "\(key)", "epoch": "\(epoch)"])
            } else {
                slots[key] = nil
                logger.info("shard replica dropped", metadata: ["shard": "\(key)", "epoch": "\(epoch)"])
            }
        }
        for key in wanted.keys.sorted() {
            guard let shard = wanted[key] else { continue }
            let known = assigned[key] != nil
            assigned[key] = shard
            if !known {
                if case .draining(let replica) = slots[key], replica.spec == shard.spec {
                    slots[key] = .ready(replica)  // placed here again before it was released
                } else {
                    slots[key] = .loading(shard)
                    loadQueue.append(key)
                }
            }
            if shard.joining, case .ready = slots[key] { reportReady(key) }
            if refusedForMemory.contains(key), case .refused(_, let reason) = slots[key] { reportRefusal(key, reason: reason) }
        }
        reportGauges()
        if !loading, !loadQueue.isEmpty {
            loading = true
            Task { await self.drainLoadQueue() }
        }
    }

    private func release(_ key: ShardKey) {
        guard case .draining = slots[key] else { return }
        slots[key] = nil
        logger.info("shard replica released", metadata: ["shard": "\(key)"])
        reportGauges()
    }

    /// Tells the leader a move's target is ready; retried at the next assignment answer while
    /// the move is still open.
    private func reportReady(_ key: ShardKey) {
        guard let connection else { return }
        let report = ShardReadyReport(worker: worker, collection: key.collection, shard: key.shard)
        let logger = self.logger
        Task {
            do {
                try await connection.call("shardReady", within: .seconds(10)) { try await $0.shardReady(report) }
            } catch {
                logger.warning("could not report a moved replica ready; retrying at the next map change", metadata: ["shard": "\(key)", "error": "\(error)"])
            }
        }
    }

    /// Tells the leader this worker cannot hold a replica, so it is placed on another worker;
    /// retried at the next assignment answer while the map still places it here.
    private func reportRefusal(_ key: ShardKey, reason: String) {
        guard let connection else { return }
        let report = ShardRefusalReport(worker: worker, collection: key.collection, shard: key.shard, reason: reason)
        let logger = self.logger
        Task {
            do {
                try await connection.call("shardRefused", within: .seconds(10)) { try await $0.shardRefused(report) }
            } catch {
                logger.warning("could not report a refused replica; retrying at the next map change", metadata: ["shard": "\(key)", "error": "\(error)"])
            }
        }
    }

    private func drainLoadQueue() async {
        defer { loading = false }
        while !loadQueue.isEmpty {
            let key = loadQueue.removeFirst()
            guard let shard = assigned[key] else { continue }
            await load(shard)
        }
    }

    // MARK: Loading

    private func load(_ shard: AssignedShard) async {
        guard let coldStore else { return }
        let key = shard.key
        let started = ContinuousClock.now
        let budget = Int(clamping: memoryBudgetBytes)
        var replica: ServedReplica?
        var built = 0
        var fromSnapshot = false
        if shard.spec.index == .hnsw {
            switch await restoreSnapshot(shard) {
            case .restored(let restored):
                replica = restored
                fromSnapshot = true
            case .refused: return
            case .none: break
            }
        }
        var after = replica?.appliedSequence ?? 0
        do {
            while true {
                let changes = try await coldStore.vectorChanges(collection: key.collection, shard: key.shard, afterSequence: after, limit: Self.pageSize)
                guard assigned[key]?.spec == shard.spec else { return }  // dropped or replaced meanwhile
                if replica == nil {
                    let sample = shard.spec.index == .int8 ? changes.filter { !$0.isDeleted && $0.vector.count == shard.spec.dimension }.flatMap(\.vector) : []
                    replica = ServedReplica(try ShardReplica(spec: shard.spec, shard: key.shard, trainingSample: sample))
                }
                guard let current = replica else { return }
                let others = reservedBytes.filter { $0.key != key }.values.reduce(0, +)
                let projected = current.memoryBytes + current.estimatedBytes(adding: changes.count)
                if others + projected > budget {
                    refuse(
                        shard,
                        reason: "memory budget: this replica needs more than \(projected) bytes and the worker's others hold \(others) of its \(budget)-byte budget (raise --memory-budget or add workers)",
                        code: "memory_budget")
                    return
                }
                report(await current.apply(changes), key)
                guard assigned[key]?.spec == shard.spec else { return }  // dropped or replaced while applying
                reservedBytes[key] = current.memoryBytes
                after = changes.last?.sequence ?? after
                built += changes.count
                if changes.count < Self.pageSize { break }
            }
        } catch {
            refuse(shard, reason: "cold store: \(error)", code: "cold_store")
            return
        }
        guard let loaded = replica, assigned[key]?.spec == shard.spec else { return }
        slots[key] = .ready(loaded)
        if assigned[key]?.joining == true { reportReady(key) }
        reservedBytes[key] = loaded.memoryBytes
        changesSinceSnapshot[key] = built
        saveSnapshotIfDue(key, afterBuild: !fromSnapshot)
        let seconds = (ContinuousClock.now - started).inSeconds
        Timer(label: "naksha_worker_shard_load_seconds").recordSeconds(seconds)
        logger.info(
            "shard replica ready",
            metadata: [
                "shard": "\(key)", "vectors": "\(loaded.count)", "bytes": "\(loaded.memoryBytes)", "sequence": "\(loaded.appliedSequence)",
                "seconds": "\(seconds)", "epoch": "\(epoch)", "changes_applied": "\(built)",
            ])
        reportGauges()
    }

    // MARK: Snapshots

    enum SnapshotRestore {
        case restored(ServedReplica)
        /// No usable snapshot: build from the vectors.
        case none
        /// The snapshot alone would pass the memory budget; the replica was refused.
        case refused
    }

    /// The shard's newest snapshot as a replica, if one is saved, fits the budget and verifies.
    private func restoreSnapshot(_ shard: AssignedShard) async -> SnapshotRestore {
        guard let coldStore else { return .none }
        let key = shard.key
        let snapshot: ShardSnapshot
        do {
            guard let saved = try await coldStore.shardSnapshot(collection: key.collection, shard: key.shard) else { return .none }
            snapshot = saved
        } catch {
            logger.warning("cannot read the shard's snapshot; building it from its vectors", metadata: ["shard": "\(key)", "error": "\(error)"])
            return .none
        }
        guard assigned[key]?.spec == shard.spec else { return .none }
        guard snapshot.generation == shard.spec.createdMillis else {
            logger.info(
                "shard snapshot of an earlier collection of this name; building from vectors",
                metadata: ["shard": "\(key)", "snapshot_generation": "\(snapshot.generation)", "collection_created_ms": "\(shard.spec.createdMillis)"])
            return .none
        }
        guard snapshot.format == ShardReplica.snapshotFormat else {
            logger.info("shard snapshot in another format; building from vectors", metadata: ["shard": "\(key)", "format": "\(snapshot.format)"])
            return .none
        }
        let others = reservedBytes.filter { $0.key != key }.values.reduce(0, +)
        let budget = Int(clamping: memoryBudgetBytes)
        if others + snapshot.bytes.count > budget {
            refuse(
                shard,
                reason: "memory budget: its snapshot alone is \(snapshot.bytes.count) bytes and the worker's others hold \(others) of its \(budget)-byte budget (raise --memory-budget or add workers)",
                code: "memory_budget")
            return .refused
        }
        reservedBytes[key] = snapshot.bytes.count  // what the decoded replica will hold, about
        switch await Self.decode(snapshot, spec: shard.spec) {
        case .success(let replica):
            logger.info(
                "shard snapshot loaded",
                metadata: ["shard": "\(key)", "sequence": "\(snapshot.sequence)", "bytes": "\(snapshot.bytes.count)", "vectors": "\(replica.count)"])
            Counter(label: "naksha_worker_shard_snapshots_loaded_total").increment()
            return .restored(ServedReplica(replica))
        case .failure(let error):
            reservedBytes[key] = nil  // the build from rows reserves as it reads
            Counter(label: "naksha_worker_shard_snapshots_rejected_total").increment()
            logger.error("shard snapshot rejected; building the replica from its vectors", metadata: ["shard": "\(key)", "error": "\(error)"])
            return .none
        }
    }

    /// Decodes and verifies a snapshot off the actor (hundreds of megabytes for a large shard).
    @concurrent
    private static func decode(_ snapshot: ShardSnapshot, spec: CollectionSpec) async -> Result<ShardReplica, VectorError> {
        do throws(VectorError) {
            return .success(try ShardReplica(spec: spec, shard: snapshot.shard, snapshot: snapshot.bytes))
        } catch {
            return .failure(error)
        }
    }

    /// Saves a ready HNSW replica in the background: after it was built from rows
    /// (`afterBuild`), or once a quarter of it (at least `snapshotMinimumChanges`) changed
    /// since its last snapshot; one save per shard at a time.
    private func saveSnapshotIfDue(_ key: ShardKey, afterBuild: Bool = false) {
        guard let coldStore, case .ready(let replica) = slots[key], replica.isSnapshotWorthy, !savingSnapshots.contains(key) else { return }
        let pending = changesSinceSnapshot[key] ?? 0
        if let retryAt = snapshotRetryAt[key] {
            guard ContinuousClock.now >= retryAt else { return }  // a failed save is retried every 30 s
        } else {
            guard pending > 0, afterBuild || pending >= max(Self.snapshotMinimumChanges, replica.count / 4) else { return }
        }
        snapshotRetryAt[key] = nil
        savingSnapshots.insert(key)
        changesSinceSnapshot[key] = 0
        encoding[key] = []
        let logger = self.logger
        Task {
            let started = ContinuousClock.now
            var saved = false
            let encoded = await Self.encode(replica)
            self.finishEncoding(key)
            if let (bytes, sequence) = encoded {
                do {
                    let written = try await coldStore.saveShardSnapshot(
                        ShardSnapshot(
                            collection: key.collection, shard: key.shard, sequence: sequence, generation: replica.spec.createdMillis,
                            format: ShardReplica.snapshotFormat, bytes: bytes))
                    saved = true
                    let seconds = (ContinuousClock.now - started).inSeconds
                    Timer(label: "naksha_worker_shard_snapshot_save_seconds").recordSeconds(seconds)
                    logger.info(
                        written ? "shard snapshot saved" : "shard snapshot already saved at this sequence",
                        metadata: ["shard": "\(key)", "sequence": "\(sequence)", "bytes": "\(bytes.count)", "seconds": "\(seconds)"])
                } catch {
                    logger.warning("could not save the shard's snapshot; a load rebuilds more of it", metadata: ["shard": "\(key)", "error": "\(error)"])
                }
            }
            self.snapshotFinished(key, saved: saved)
        }
    }

    @concurrent
    private static func encode(_ replica: ServedReplica) async -> (bytes: [UInt8], sequence: Int64)? {
        replica.snapshot()
    }

    /// Returns once no snapshot of `key` is being encoded.
    private func encodingFinished(_ key: ShardKey) async {
        guard encoding[key] != nil else { return }
        await withCheckedContinuation { encoding[key, default: []].append($0) }
    }

    private func finishEncoding(_ key: ShardKey) {
        for waiter in encoding.removeValue(forKey: key) ?? [] { waiter.resume() }
    }

    private func snapshotFinished(_ key: ShardKey, saved: Bool) {
        savingSnapshots.remove(key)
        if !saved { snapshotRetryAt[key] = ContinuousClock.now + .seconds(30) }
    }

    private func refuse(_ shard: AssignedShard, reason: String, code: String) {
        slots[shard.key] = .refused(shard, reason: reason)
        reservedBytes[shard.key] = nil
        Counter(label: "naksha_worker_shard_refusals_total", dimensions: [("reason", code)]).increment()
        logger.error("shard replica refused", metadata: ["shard": "\(shard.key)", "reason": "\(reason)", "worker": "\(worker)"])
        reportGauges()
        if code == "memory_budget" {
            refusedForMemory.insert(shard.key)
            reportRefusal(shard.key, reason: reason)
        }
    }

    private func report(_ skipped: [(id: String, error: VectorError)], _ key: ShardKey) {
        for (id, error) in skipped {
            Counter(label: "naksha_worker_vectors_skipped_total", dimensions: [("collection", key.collection)]).increment()
            logger.warning("vector skipped", metadata: ["shard": "\(key)", "id": "\(id)", "error": "\(error)"])
        }
    }

    private func reportGauges() {
        var ready = 0
        var bytes = 0
        for slot in slots.values {
            if case .ready(let replica) = slot {
                ready += 1
                bytes += replica.memoryBytes
            }
        }
        Gauge(label: "naksha_worker_shard_replicas").record(ready)
        Gauge(label: "naksha_worker_shard_memory_bytes").record(bytes)
    }

    // MARK: Catch-up

    /// Applies the shard's changes after its applied sequence (all of them when `target` is
    /// nil; until `target` is reached otherwise).
    private func catchUp(_ key: ShardKey, to target: Int64?) async throws {
        guard let coldStore else { return }
        while true {
            guard case .ready(let replica) = slots[key] else { return }
            let after = replica.appliedSequence
            if let target, after >= target { return }
            let changes = try await coldStore.vectorChanges(collection: key.collection, shard: key.shard, afterSequence: after, limit: Self.pageSize)
            guard case .ready(let current) = slots[key], current === replica, let shard = assigned[key] else { return }
            let others = reservedBytes.filter { $0.key != key }.values.reduce(0, +)
            let applied = current.appliedSequence
            let projected = current.memoryBytes + current.estimatedBytes(adding: changes.filter { $0.sequence > applied && !$0.isDeleted }.count)
            if others + projected > Int(clamping: memoryBudgetBytes) {
                refuse(
                    shard,
                    reason: "memory budget: growing to about \(projected) bytes would take the worker past its \(memoryBudgetBytes)-byte budget (its other replicas hold \(others)); raise --memory-budget or add workers",
                    code: "memory_budget")
                return
            }
            // A snapshot being encoded holds the read lock for a while: a writer queued behind it
            // would block every new search (the lock prefers writers), so wait for it first.
            await encodingFinished(key)
            report(await current.apply(changes), key)
            guard case .ready(let still) = slots[key], still === current else { return }  // dropped, refused or replaced meanwhile
            reservedBytes[key] = current.memoryBytes
            changesSinceSnapshot[key, default: 0] += changes.count { $0.sequence > applied }
            saveSnapshotIfDue(key)
            if changes.count < Self.pageSize { return }
        }
    }

    // MARK: ShardBackend

    func catchUp(_ hint: ShardCatchUp) async throws {
        try await catchUp(ShardKey(collection: hint.collection, shard: hint.shard), to: hint.sequence)
    }

    /// One query: a batch of one.
    @concurrent
    nonisolated func search(_ request: ShardSearchRequest) async throws -> ShardSearchAnswer {
        let batch = ShardBatchSearchRequest(
            collection: request.collection, shard: request.shard, vectors: [request.vector], k: request.k, filterJSON: request.filterJSON,
            minSequence: request.minSequence)
        let answer = try await searchBatch(batch)
        return ShardSearchAnswer(hits: answer.hits.first ?? [], appliedSequence: answer.appliedSequence, exact: answer.exact)
    }

    /// Checks and catch-up inside the actor; the search itself outside it, concurrently with
    /// other searches, under the replica's read lock — one call (and one kernel pass for flat)
    /// for every query of the batch.
    @concurrent
    nonisolated func searchBatch(_ request: ShardBatchSearchRequest) async throws -> ShardBatchSearchAnswer {
        let key = ShardKey(collection: request.collection, shard: request.shard)
        let filter = try request.filterJSON.map { json throws(ClusterAPIError) in MetadataFilter(try VectorFilter.parse(json: json)) }
        guard let first = request.vectors.first else { return ShardBatchSearchAnswer(hits: [], appliedSequence: 0, exact: true) }
        let probe = ShardSearchRequest(collection: request.collection, shard: request.shard, vector: first, k: request.k, minSequence: request.minSequence)
        let replica = try await servingReplica(for: probe, key: key)
        if let wrong = request.vectors.first(where: { $0.count != replica.spec.dimension }) {
            throw ClusterAPIError(
                code: ClusterAPIError.dimensionMismatch,
                message: "collection \"\(key.collection)\" holds \(replica.spec.dimension)-dimensional vectors; a query has \(wrong.count)")
        }
        do {
            let (hits, appliedSequence) = try replica.search(batch: request.vectors, k: request.k, filter: filter)
            return ShardBatchSearchAnswer(hits: hits, appliedSequence: appliedSequence, exact: replica.isExact)
        } catch {
            throw ClusterAPIError(code: "invalidQuery", message: "shard \(key): \(error)")
        }
    }

    /// The replica that may answer `request`: ready (caught up to its `minSequence` first) or
    /// draining (only when already caught up: it is being released).
    private func servingReplica(for request: ShardSearchRequest, key: ShardKey) async throws(ClusterAPIError) -> ServedReplica {
        if case .draining(let replica) = slots[key] {
            guard request.vector.count == replica.spec.dimension, request.minSequence <= replica.appliedSequence else {
                throw ClusterAPIError(code: ClusterAPIError.shardNotServing, message: "worker \(worker): shard \(key) is draining")
            }
            return replica
        }
        guard case .ready(let replica) = slots[key] else {
            let state: String
            switch slots[key] {
            case .loading: state = "is still loading"
            case .refused(_, let reason): state = "was refused (\(reason))"
            default: state = "is not placed here"
            }
            throw ClusterAPIError(code: ClusterAPIError.shardNotServing, message: "worker \(worker): shard \(key) \(state)")
        }
        guard request.vector.count == replica.spec.dimension else {
            throw ClusterAPIError(
                code: ClusterAPIError.dimensionMismatch,
                message: "collection \"\(key.collection)\" holds \(replica.spec.dimension)-dimensional vectors; the query has \(request.vector.count)")
        }
        if request.minSequence > replica.appliedSequence {
            do {
                try await catchUp(key, to: request.minSequence)
            } catch {
                throw ClusterAPIError(code: ClusterAPIError.coldStoreUnavailable, message: "worker \(worker): shard \(key) cannot catch up: \(error)")
            }
        }
        guard case .ready(let current) = slots[key] else {
            throw ClusterAPIError(code: ClusterAPIError.shardNotServing, message: "worker \(worker): shard \(key) was dropped")
        }
        guard current.appliedSequence >= request.minSequence else {
            throw ClusterAPIError(
                code: ClusterAPIError.coldStoreUnavailable,
                message: "worker \(worker): shard \(key) reached sequence \(current.appliedSequence), not \(request.minSequence)")
        }
        return current
    }

    func status() async throws -> WorkerShardStatus {
        let replicas = slots.keys.sorted().compactMap { key -> ShardReplicaStatus? in
            switch slots[key] {
            case .loading:
                return ShardReplicaStatus(
                    collection: key.collection, shard: key.shard, state: .loading, vectors: 0, memoryBytes: UInt64(reservedBytes[key] ?? 0), appliedSequence: 0)
            case .ready(let replica):
                return ShardReplicaStatus(
                    collection: key.collection, shard: key.shard, state: .ready, vectors: replica.count, memoryBytes: UInt64(replica.memoryBytes),
                    appliedSequence: replica.appliedSequence)
            case .refused(_, let reason):
                return ShardReplicaStatus(collection: key.collection, shard: key.shard, state: .refused, vectors: 0, memoryBytes: 0, appliedSequence: 0, reason: reason)
            case .draining(let replica):
                return ShardReplicaStatus(
                    collection: key.collection, shard: key.shard, state: .draining, vectors: replica.count, memoryBytes: UInt64(replica.memoryBytes),
                    appliedSequence: replica.appliedSequence)
            case nil:
                return nil
            }
        }
        return WorkerShardStatus(worker: worker, memoryBudgetBytes: memoryBudgetBytes, replicas: replicas)
    }
}
