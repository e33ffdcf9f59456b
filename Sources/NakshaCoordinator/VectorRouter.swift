import CoreMetrics
import Logging
import NakshaActors
import NakshaClusterAPI
import NakshaCore
import NakshaGraph
import NakshaProviders
import NakshaState
import NakshaStore
import Synchronization

/// Why a vector request was refused: a stable code (docs/vectors.md#errors) and what to do.
public struct VectorServiceError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case invalidInput
        case invalidFilter
        case unknownCollection
        case dimensionMismatch
        case tooLarge
        case conflict
        /// The coordinator has no cold store (`DATABASE_URL`), the vectors' durable copy.
        case coldStoreRequired
        /// The cold store did not answer; an upsert's outcome is unknown, and repeating it is
        /// safe (an upsert by id is idempotent).
        case coldStoreUnavailable
        /// Text could not be embedded (the model refused it, or its provider did not answer).
        case embeddingFailed
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// What routers on one coordinator remember: the collections known to be in the cold store
/// with their shape (checked again when the shape differs), and per shard the replica that
/// answered last.
final class VectorRoutingMemory: Sendable {
    let storedShapes = Mutex<[String: CollectionSpec]>([:])
    let preferred = Mutex<[ShardKey: WorkerID]>([:])
    /// Each shard's moving-average answer time, for the hedge delay.
    let typicalSeconds = Mutex<[ShardKey: Double]>([:])
}

/// One vector to write: its id, values, and what is stored with it.
public struct VectorItem: Sendable, Equatable {
    public var id: String
    public var vector: [Float]
    public var payload: VectorPayload

    public init(id: String, vector: [Float], payload: VectorPayload = VectorPayload()) {
        self.id = id
        self.vector = vector
        self.payload = payload
    }
}

/// A written batch: how many, and the per-shard sequences to wait for (read-your-writes).
public struct VectorWriteAnswer: Sendable, Equatable {
    public var count: Int
    public var sequences: [Int: Int64]
}

public enum ReadConsistency: String, Sendable, CaseIterable {
    /// Whatever each replica holds (it catches up within about a second).
    case eventual
    /// Every write acknowledged before the query (or those whose sequences the query names).
    case readYourWrites = "read_your_writes"
}

public struct VectorQuery: Sendable {
    public var collection: String
    public var vector: [Float]
    public var k: Int
    public var filterJSON: String?
    public var consistency: ReadConsistency
    /// With `readYourWrites`: the sequences an upsert answered; nil means every write
    /// acknowledged so far (read from the cold store).
    public var afterSequences: [Int: Int64]?
    public var timeout: Duration

    public init(
        collection: String, vector: [Float], k: Int, filterJSON: String? = nil, consistency: ReadConsistency = .eventual,
        afterSequences: [Int: Int64]? = nil, timeout: Duration = .seconds(5)
    ) {
        self.collection = collection
        self.vector = vector
        self.k = k
        self.filterJSON = filterJSON
        self.consistency = consistency
        self.afterSequences = afterSequences
        self.timeout = timeout
    }
}

public struct VectorQueryResult: Sendable {
    public var hits: [ShardHit]
    /// Some shard had no replica that answered: the results come from the others.
    public var partial: Bool
    /// Every shard answered from an exact index (flat, or an exact filtered scan).
    public var exact: Bool
    public var missingShards: [Int]
    /// How many results each shard was asked for first (`ScatterGather.perShardK`).
    public var askedPerShard: Int
    public var epoch: UInt64
}

/// The router: collections, upserts, deletes and scatter-gather queries over the workers
/// that hold the shards (docs/vectors.md).
///
/// Writes go to the cold store first — it gives each change a per-shard sequence, and a
/// write is acknowledged only once committed there — then the shard's replicas are told to
/// catch up. A query asks one replica of every shard at once, with the request's deadline;
/// a replica that fails or is not serving yet is replaced by the next one; a shard with no
/// replica answering makes the result `partial`. The replica that answered last is asked
/// first next time.
///
/// A router is cheap: what it remembers lives in the coordinator's `VectorRoutingMemory`, so
/// the HTTP gateway, the protocol and the worker gateway share it.
struct VectorRouter: Sendable {
    let coordinator: Coordinator
    var memory: VectorRoutingMemory { coordinator.vectorRouting }
    static let maxBatch = 10_000
    static let maxK = 10_000
    static let maxIDBytes = 512
    static let maxPayloadBytes = 64 << 10

    init(coordinator: Coordinator) {
        self.coordinator = coordinator
    }

    var logger: Logger { coordinator.logger }

    /// Embeds `texts` with `model` (nil: the coordinator's default embedding model, the one
    /// `naksha ingest` uses), one vector per text.
    /// - Throws: `embeddingFailed` when the model refuses or its provider does not answer.
    ///
    /// Never inlined: inlined into an async caller (the query route, the HTTP upsert's text
    /// embedding), Swift 6.3.1's release build crashed splitting that caller's coroutine.
    @inline(never)
    func embed(_ texts: [String], model: String?, for collection: String, limit: Int = maxBatch) async throws -> [[Float]] {
        guard !texts.isEmpty else { return [] }
        guard texts.count <= limit else { throw VectorServiceError(.tooLarge, "\(texts.count) texts; the limit is \(limit) a call") }
        _ = try await spec(collection)  // an unknown collection is refused before the model is paid
        return try await embed(texts, model: model)
    }

    @inline(never)
    private func embed(_ texts: [String], model: String?) async throws(VectorServiceError) -> [[Float]] {
        let embedders = coordinator.embedders
        guard texts.count <= Self.maxBatch else {
            throw VectorServiceError(.tooLarge, "\(texts.count) texts to embed; the limit is \(Self.maxBatch) a call")
        }
        let result: EmbeddingResult
        do {
            result = try await embedders.embed(texts, model: model, idempotencyKey: nil, timeout: .seconds(30))
        } catch {
            let message = "embedding \(texts.count) text(s) with \(model ?? embedders.defaultEmbeddingModel) failed: \(error)"
            // The request's own fault (an unknown model, text it refuses) is not worth repeating.
            if error.code == .unknownModel || error.code == .invalidInput || error.code == .requestRejected {
                throw VectorServiceError(.invalidInput, message)
            }
            throw VectorServiceError(.embeddingFailed, message)
        }
        guard result.vectors.count == texts.count else {
            throw VectorServiceError(.embeddingFailed, "the model answered \(result.vectors.count) vectors for \(texts.count) texts")
        }
        return result.vectors
    }

    func coldStore() throws(VectorServiceError) -> PostgresColdStore {
        guard let store = coordinator.coldStore else {
            throw VectorServiceError(.coldStoreRequired, "vector collections need the cold store: start coordinators with DATABASE_URL")
        }
        return store
    }

    // MARK: Collections

    /// Creates a collection in the shard map and the cold store; answers whether it was new.
    func createCollection(_ spec: CollectionSpec, timeout: Duration = .seconds(10)) async throws -> (CollectionSpec, epoch: UInt64, created: Bool) {
        let store = try coldStore()
        // A cold-store collection of another shape refuses the create before the map changes.
        if try await coordinator.readState({ $0.shards.collections[spec.name] }) == nil {
            try await ensureStored(spec, in: store, createIfAbsent: false)
        }
        let outcome = try await coordinator.propose(.createCollection(CreateCollection(spec)), timeout: timeout)
        guard case .collectionCreated(let name, let epoch, let created) = outcome else {
            throw VectorServiceError(.invalidInput, "unexpected outcome \(outcome)")
        }
        guard let stored = try await coordinator.readState({ $0.shards.collections[name] }) else {
            throw VectorServiceError(.unknownCollection, "collection \"\(name)\" was dropped meanwhile")
        }
        let storing: Result<Void, VectorServiceError>
        do {
            try await ensureStored(stored, in: store)
            storing = .success(())
        } catch {
            storing = .failure(error)
        }
        if case .failure(let error) = storing {
            if error.code == .conflict, created {
                // Another tool created the name in the cold store since the check: undo the map entry.
                do {
                    _ = try await coordinator.propose(.dropCollection(name), timeout: timeout)
                } catch {
                    Counter(label: "naksha_vector_collection_undo_failed_total").increment()
                    logger.error(
                        "a collection that conflicts with the cold store stays in the shard map; drop it (naksha collection drop)",
                        metadata: ["collection": "\(name)", "error": "\(error)"])
                }
            }
            throw error
        }
        return (stored, epoch, created)
    }

    func dropCollection(_ name: String, timeout: Duration = .seconds(10)) async throws -> UInt64 {
        let store = try coldStore()
        let outcome = try await coordinator.propose(.dropCollection(name), timeout: timeout)
        guard case .collectionDropped(_, let epoch) = outcome else { throw VectorServiceError(.invalidInput, "unexpected outcome \(outcome)") }
        _ = memory.storedShapes.withLock { $0.removeValue(forKey: name) }
        do {
            try await store.dropCollection(named: name)
        } catch {
            // The map no longer has it; the rows stay until a later drop or a create of the
            // same shape adopts them. Said, not hidden.
            throw VectorServiceError(.coldStoreUnavailable, "collection \"\(name)\" left the shard map, but its rows were not deleted from the cold store: \(error); drop it again")
        }
        return epoch
    }

    /// The cold store holds the collection with the map's shape: created if absent, adopted if
    /// equal (rows written before, for example by `naksha ingest`), refused if different.
    private func ensureStored(_ spec: CollectionSpec, in store: PostgresColdStore, createIfAbsent: Bool = true) async throws(VectorServiceError) {
        if memory.storedShapes.withLock({ $0[spec.name] }) == spec { return }
        let wanted = VectorCollection(name: spec.name, dimension: spec.dimension, metric: spec.metric.rawValue, shardCount: spec.shards)
        do {
            if let existing = try await store.collection(named: spec.name) {
                let metric = existing.metric == "dot" ? "ip" : existing.metric
                guard existing.dimension == spec.dimension, existing.shardCount == spec.shards, metric == spec.metric.rawValue else {
                    throw VectorServiceError(
                        .conflict,
                        "the cold store already holds a collection \"\(spec.name)\" of \(existing.dimension) dimensions, \(existing.metric), "
                            + "\(existing.shardCount) shards; drop it (naksha collection drop \(spec.name)) or use another name")
                }
            } else if createIfAbsent {
                try await store.createCollection(wanted)
            } else {
                return
            }
        } catch let error as VectorServiceError {
            throw error
        } catch {
            throw VectorServiceError(.coldStoreUnavailable, "cold store: \(error)")
        }
        memory.storedShapes.withLock { $0[spec.name] = spec }
    }

    /// The collection's spec, from this coordinator's state, or (when it does not know the
    /// name yet) a linearizable read.
    func spec(_ name: String) async throws -> CollectionSpec {
        if let local = await coordinator.localState({ $0.shards.collections[name] }) ?? nil { return local }
        if let read = try await coordinator.readState({ $0.shards.collections[name] }) { return read }
        throw VectorServiceError(.unknownCollection, "no collection named \"\(name)\" (naksha collection create \(name) --dimension N)")
    }

    // MARK: Writes

    func upsert(_ items: [VectorItem], into name: String) async throws -> VectorWriteAnswer {
        let store = try coldStore()
        guard !items.isEmpty else { throw VectorServiceError(.invalidInput, "give at least one vector") }
        guard items.count <= Self.maxBatch else {
            throw VectorServiceError(.tooLarge, "\(items.count) vectors in one upsert; the limit is \(Self.maxBatch): split the batch")
        }
        let spec = try await spec(name)
        var seen = Set<String>()
        var records: [VectorRecord] = []
        records.reserveCapacity(items.count)
        for (position, item) in items.enumerated() {
            try Self.checkID(item.id, at: "vectors[\(position)]")
            guard seen.insert(item.id).inserted else {
                throw VectorServiceError(.invalidInput, "vectors[\(position)]: id \"\(item.id)\" appears twice in the batch")
            }
            guard item.vector.count == spec.dimension else {
                throw VectorServiceError(
                    .dimensionMismatch, "vectors[\(position)] (\"\(item.id)\") has \(item.vector.count) dimensions; collection \"\(name)\" holds \(spec.dimension)")
            }
            guard item.vector.allSatisfy(\.isFinite) else {
                throw VectorServiceError(.invalidInput, "vectors[\(position)] (\"\(item.id)\") holds a value that is not a finite number")
            }
            let payload = item.payload.jsonText
            if let payload, payload.utf8.count > Self.maxPayloadBytes {
                throw VectorServiceError(.tooLarge, "vectors[\(position)]: metadata and document take \(payload.utf8.count) bytes; the limit is \(Self.maxPayloadBytes)")
            }
            records.append(
                VectorRecord(id: item.id, shard: ShardHash.shard(of: item.id, shardCount: spec.shards), vector: item.vector, metadataJSON: payload))
        }
        try await ensureStored(spec, in: store)
        let sequences: [Int: Int64]
        do {
            sequences = try await store.upsertVectors(records, into: name)
        } catch {
            Counter(label: "naksha_vector_writes_failed_total", dimensions: [("operation", "upsert")]).increment()
            throw VectorServiceError(.coldStoreUnavailable, "the upsert's outcome is unknown (cold store: \(error)); repeating it is safe")
        }
        Counter(label: "naksha_vector_upserted_total").increment(by: records.count)
        await nudge(name, sequences)
        return VectorWriteAnswer(count: records.count, sequences: sequences)
    }

    func delete(ids: [String], from name: String) async throws -> VectorWriteAnswer {
        let store = try coldStore()
        guard !ids.isEmpty else { throw VectorServiceError(.invalidInput, "give at least one id") }
        guard ids.count <= Self.maxBatch else { throw VectorServiceError(.tooLarge, "\(ids.count) ids in one delete; the limit is \(Self.maxBatch)") }
        for (position, id) in ids.enumerated() { try Self.checkID(id, at: "ids[\(position)]") }
        let spec = try await spec(name)
        try await ensureStored(spec, in: store)
        let sequences: [Int: Int64]
        do {
            sequences = try await store.deleteVectors(ids: ids, from: name)
        } catch {
            Counter(label: "naksha_vector_writes_failed_total", dimensions: [("operation", "delete")]).increment()
            throw VectorServiceError(.coldStoreUnavailable, "the delete's outcome is unknown (cold store: \(error)); repeating it is safe")
        }
        await nudge(name, sequences)
        return VectorWriteAnswer(count: sequences.isEmpty ? 0 : ids.count, sequences: sequences)
    }

    static func checkID(_ id: String, at path: String) throws(VectorServiceError) {
        guard !id.isEmpty, id.utf8.count <= maxIDBytes else {
            throw VectorServiceError(.invalidInput, "\(path): an id must be 1…\(maxIDBytes) bytes")
        }
    }

    /// Tells each written shard's replicas to catch up now, without waiting for them: a
    /// replica that misses the hint catches up at its next poll or read-your-writes query.
    private func nudge(_ name: String, _ sequences: [Int: Int64]) async {
        let targets = await coordinator.localState { state -> [(ShardCatchUp, NodeAddress)] in
            var targets: [(ShardCatchUp, NodeAddress)] = []
            for (shard, sequence) in sequences.sorted(by: { $0.key < $1.key }) {
                guard let placement = state.shards.placement(of: ShardKey(collection: name, shard: shard)) else { continue }
                for worker in placement.holders {
                    guard let address = Self.address(state.worker(worker)) else { continue }
                    targets.append((ShardCatchUp(collection: name, shard: shard, sequence: sequence), address))
                }
            }
            return targets
        } ?? []
        let system = coordinator.system
        let logger = self.logger
        for (hint, address) in targets {
            Task {
                do {
                    let endpoint = try ShardEndpoint.at(address, system: system)
                    try await NakshaActorSystem.$callTimeout.withValue(.seconds(2)) { try await endpoint.catchUp(hint) }
                } catch {
                    logger.debug("catch-up hint not delivered", metadata: ["worker": "\(address)", "shard": "\(hint.collection)/\(hint.shard)", "error": "\(error)"])
                }
            }
        }
    }

    static func address(_ worker: WorkerRecord?) -> NodeAddress? {
        guard let text = worker?.shardAddress, let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return nil }
        return NodeAddress(host: String(text[..<colon]), port: port)
    }

    /// What each worker reports about its replicas (absent: it did not answer in time).
    func workerStatuses(_ workers: [WorkerRecord], timeout: Duration) async -> [WorkerID: WorkerShardStatus] {
        let system = coordinator.system
        return await withTaskGroup(of: (WorkerID, WorkerShardStatus?).self) { group in
            for worker in workers {
                guard let address = Self.address(worker) else { continue }
                group.addTask {
                    do {
                        let endpoint = try ShardEndpoint.at(address, system: system)
                        return (worker.id, try await NakshaActorSystem.$callTimeout.withValue(timeout) { try await endpoint.status() })
                    } catch {
                        return (worker.id, nil)
                    }
                }
            }
            var reports: [WorkerID: WorkerShardStatus] = [:]
            for await (id, report) in group { reports[id] = report }
            return reports
        }
    }
}
