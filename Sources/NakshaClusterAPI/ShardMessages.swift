import NakshaCore
import NakshaState

/// A worker asking which shard replicas the map places on it: answered at once when the
/// map's epoch is past `afterEpoch`, else when it passes it or after `waitMillis` (a long
/// poll, so a move reaches the worker within one applied entry).
public struct ShardAssignmentRequest: Sendable, Codable, Equatable {
    public var worker: WorkerID
    public var afterEpoch: UInt64
    public var waitMillis: UInt64

    public init(worker: WorkerID, afterEpoch: UInt64, waitMillis: UInt64) {
        self.worker = worker
        self.afterEpoch = afterEpoch
        self.waitMillis = waitMillis
    }
}

/// One replica placed on a worker: the collection's shape and the shard number.
public struct AssignedShard: Sendable, Codable, Hashable {
    public var spec: CollectionSpec
    public var shard: Int
    /// The worker is a move's target: it loads and catches up, then reports the replica
    /// ready (`ClusterEndpoint.shardReady`), and only then do routers ask it.
    public var joining: Bool

    public init(spec: CollectionSpec, shard: Int, joining: Bool = false) {
        self.spec = spec
        self.shard = shard
        self.joining = joining
    }

    public var key: ShardKey { ShardKey(collection: spec.name, shard: shard) }
}

/// The replicas placed on one worker at one epoch of the shard map, ascending by key.
public struct ShardAssignments: Sendable, Codable, Equatable {
    public var epoch: UInt64
    public var shards: [AssignedShard]

    public init(epoch: UInt64, shards: [AssignedShard]) {
        self.epoch = epoch
        self.shards = shards
    }
}

/// A move's target saying its replica is loaded and caught up.
public struct ShardReadyReport: Sendable, Codable, Equatable {
    public var worker: WorkerID
    public var collection: String
    public var shard: Int

    public init(worker: WorkerID, collection: String, shard: Int) {
        self.worker = worker
        self.collection = collection
        self.shard = shard
    }
}

/// A worker refused a replica it was given (over its memory budget); the leader places it
/// elsewhere (the log command's own shape, as `TaskCompletion` is `CompleteTask`'s).
public typealias ShardRefusalReport = RefuseShardReplica

/// A router asking one replica for its nearest neighbours.
public struct ShardSearchRequest: Sendable, Codable, Equatable {
    public var collection: String
    public var shard: Int
    public var vector: [Float]
    /// How many results to return at most.
    public var k: Int
    /// A metadata filter as JSON (`VectorFilter`), or nil.
    public var filterJSON: String?
    /// The replica answers only once it has applied this shard's changes up to this cold-store
    /// sequence (read-your-writes); 0 for whatever it holds.
    public var minSequence: Int64

    public init(collection: String, shard: Int, vector: [Float], k: Int, filterJSON: String? = nil, minSequence: Int64 = 0) {
        self.collection = collection
        self.shard = shard
        self.vector = vector
        self.k = k
        self.filterJSON = filterJSON
        self.minSequence = minSequence
    }
}

/// A router asking one replica for the nearest neighbours of several queries at once (a
/// batch): one call, and one pass of a flat index's batched kernel, for all of them.
public struct ShardBatchSearchRequest: Sendable, Codable, Equatable {
    public var collection: String
    public var shard: Int
    /// The queries, each of the collection's dimension.
    public var vectors: [[Float]]
    /// How many results to return at most, per query.
    public var k: Int
    public var filterJSON: String?
    /// As `ShardSearchRequest.minSequence`.
    public var minSequence: Int64

    public init(collection: String, shard: Int, vectors: [[Float]], k: Int, filterJSON: String? = nil, minSequence: Int64 = 0) {
        self.collection = collection
        self.shard = shard
        self.vectors = vectors
        self.k = k
        self.filterJSON = filterJSON
        self.minSequence = minSequence
    }
}

/// A replica's answer to a batch: per query, in the request's order, its hits best first.
public struct ShardBatchSearchAnswer: Sendable, Codable, Equatable {
    public var hits: [[ShardHit]]
    public var appliedSequence: Int64
    public var exact: Bool

    public init(hits: [[ShardHit]], appliedSequence: Int64, exact: Bool) {
        self.hits = hits
        self.appliedSequence = appliedSequence
        self.exact = exact
    }
}

/// One result: the vector's id, its similarity to the query (higher is closer: `1 − cosine
/// distance`, the inner product, or `−squared L2`), and its stored payload as JSON
/// (`VectorPayload`).
public struct ShardHit: Sendable, Codable, Hashable {
    public var id: String
    public var score: Double
    public var payloadJSON: String?

    public init(id: String, score: Double, payloadJSON: String? = nil) {
        self.id = id
        self.score = score
        self.payloadJSON = payloadJSON
    }
}

/// A replica's answer: its hits, best first, and the sequence it had applied.
public struct ShardSearchAnswer: Sendable, Codable, Equatable {
    public var hits: [ShardHit]
    public var appliedSequence: Int64
    /// True when the answer is exact for this shard (a flat index, or a filtered exact scan).
    public var exact: Bool

    public init(hits: [ShardHit], appliedSequence: Int64, exact: Bool) {
        self.hits = hits
        self.appliedSequence = appliedSequence
        self.exact = exact
    }
}

/// A hint that a shard's changes in the cold store reached `sequence`: the replica catches
/// up now instead of at its next poll.
public struct ShardCatchUp: Sendable, Codable, Equatable {
    public var collection: String
    public var shard: Int
    public var sequence: Int64

    public init(collection: String, shard: Int, sequence: Int64) {
        self.collection = collection
        self.shard = shard
        self.sequence = sequence
    }
}

/// What one replica on a worker is doing.
public struct ShardReplicaStatus: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable {
        /// Reading its rows from the cold store; not serving yet.
        case loading
        /// Serving queries.
        case ready
        /// Not loaded: it would exceed the worker's memory budget, or the cold store refused it.
        case refused
        /// Moved away; still answering for a few seconds before it is released.
        case draining
    }

    public var collection: String
    public var shard: Int
    public var state: State
    public var vectors: Int
    public var memoryBytes: UInt64
    public var appliedSequence: Int64
    /// Why it was refused, when it was.
    public var reason: String?

    public init(
        collection: String, shard: Int, state: State, vectors: Int, memoryBytes: UInt64, appliedSequence: Int64, reason: String? = nil
    ) {
        self.collection = collection
        self.shard = shard
        self.state = state
        self.vectors = vectors
        self.memoryBytes = memoryBytes
        self.appliedSequence = appliedSequence
        self.reason = reason
    }
}

/// Everything a worker serves, with its memory budget.
public struct WorkerShardStatus: Sendable, Codable, Equatable {
    public var worker: WorkerID
    public var memoryBudgetBytes: UInt64
    public var replicas: [ShardReplicaStatus]

    public init(worker: WorkerID, memoryBudgetBytes: UInt64, replicas: [ShardReplicaStatus]) {
        self.worker = worker
        self.memoryBudgetBytes = memoryBudgetBytes
        self.replicas = replicas
    }

    public var memoryBytes: UInt64 { replicas.reduce(0) { $0 + $1.memoryBytes } }
}

extension ClusterAPIError {
    /// The replica is not placed here, or not loaded yet: ask another replica.
    public static let shardNotServing = "shardNotServing"
    /// The query's vector does not have the collection's dimension.
    public static let dimensionMismatch = "dimensionMismatch"
    /// The filter is not a valid `VectorFilter`.
    public static let invalidFilter = "invalidFilter"
    /// The cold store could not be read: the replica could not reach the asked sequence.
    public static let coldStoreUnavailable = "coldStoreUnavailable"
}

/// A `vector.upsert` node's write, routed by a coordinator into a sharded collection.
public struct VectorUpsertCall: Sendable, Codable, Equatable {
    public var collection: String
    public var ids: [String]
    public var vectors: [[Float]]
    /// Per vector, its stored payload as `VectorPayload` JSON, or nil.
    public var payloadJSON: [String?]

    public init(collection: String, ids: [String], vectors: [[Float]], payloadJSON: [String?]) {
        self.collection = collection
        self.ids = ids
        self.vectors = vectors
        self.payloadJSON = payloadJSON
    }
}

public struct VectorWriteResult: Sendable, Codable, Equatable {
    public var count: Int
    /// Per shard, the cold-store sequence of the write.
    public var sequences: [Int: Int64]

    public init(count: Int, sequences: [Int: Int64]) {
        self.count = count
        self.sequences = sequences
    }
}

/// A `vector.query` node's query, routed by a coordinator over a sharded collection.
public struct VectorQueryCall: Sendable, Codable, Equatable {
    public var collection: String
    public var vector: [Float]
    public var k: Int
    public var filterJSON: String?
    /// Wait for every write acknowledged before the query (so a query after an upsert in the
    /// same job sees it).
    public var readYourWrites: Bool

    public init(collection: String, vector: [Float], k: Int, filterJSON: String? = nil, readYourWrites: Bool = true) {
        self.collection = collection
        self.vector = vector
        self.k = k
        self.filterJSON = filterJSON
        self.readYourWrites = readYourWrites
    }
}

public struct VectorQueryAnswer: Sendable, Codable, Equatable {
    public var hits: [ShardHit]
    public var partial: Bool
    public var exact: Bool

    public init(hits: [ShardHit], partial: Bool, exact: Bool) {
        self.hits = hits
        self.partial = partial
        self.exact = exact
    }
}
