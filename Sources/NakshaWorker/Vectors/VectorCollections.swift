import CoreMetrics
import Logging
import NakshaClusterAPI
import NakshaCore
import NakshaGraph
import NakshaStore
import NakshaVector

/// The vector collections a worker serves to `vector.upsert` and `vector.query` nodes.
///
/// With a cold store (`DATABASE_URL`), Postgres is the durable copy and every worker mirrors
/// each collection it touches: an upsert is written to Postgres (which gives each change a
/// per-shard sequence) before the task completes, and a query first applies every change
/// after the sequences it has applied, in order. So a query sees every upsert whose task
/// completed before it was leased, on any worker.
///
/// Without a cold store a collection lives only in this worker's memory (one worker, or
/// tests); the sharded, replicated vector service replaces both.
///
/// A collection that does not exist is created by its first upsert, with the vectors'
/// dimension, the metric `cosine` (or the node's `metric`), one shard.
///
/// A collection in the shard map (`naksha collection create`) is served by the workers its
/// shards are placed on: upserts and queries go through a coordinator's router
/// (`ClusterEndpoint.vectorUpsert` / `vectorQuery`), and a query reads every write
/// acknowledged before it, so a query after an upsert in the same job sees it. Only a
/// collection the map does not know falls back to the per-worker mirror above.
actor VectorCollections {
    let coldStore: PostgresColdStore?
    let connection: ClusterConnection?
    let logger: Logger
    private var collections: [String: LocalCollection] = [:]

    init(coldStore: PostgresColdStore?, connection: ClusterConnection? = nil, logger: Logger) {
        self.coldStore = coldStore
        self.connection = connection
        self.logger = logger
    }

    /// The router's answer, or nil when the shard map has no such collection (or the
    /// coordinators have no cold store): then the per-worker mirror serves it.
    private func routed<T: Sendable>(_ what: String, _ name: String, _ body: @escaping @Sendable (ClusterEndpoint) async throws -> T) async throws(NodeFailure) -> T? {
        guard let connection else { return nil }
        do {
            return try await connection.call(what, within: .seconds(30), callTimeout: .seconds(15), body)
        } catch let error as ClusterAPIError where ["unknownCollection", "coldStoreRequired"].contains(error.code) {
            return nil
        } catch let error as ClusterAPIError {
            // The router's refusal of this input (dimensions, ids, size) or a cold store outage.
            throw NodeFailure(.vector, "collection \"\(name)\": \(error.message)", retryable: error.code == "coldStoreUnavailable")
        } catch {
            throw NodeFailure(.vector, "collection \"\(name)\": the router did not answer: \(error)", retryable: true)
        }
    }

    struct Record: Sendable {
        var id: String
        var vector: [Float]
        var payload: GraphValue?
    }

    /// The shard of a vector id (`ShardHash`).
    static func shard(of id: String, count: Int) -> Int {
        ShardHash.shard(of: id, shardCount: max(count, 1))
    }

    func upsert(_ records: [Record], into name: String, metricName: String) async throws(NodeFailure) -> Int {
        guard let first = records.first else { return 0 }
        guard let metric = LocalCollection.metric(named: metricName) else {
            throw NodeFailure(.invalidParameter, "metric \"\(metricName)\" is not one of cosine, ip, l2")
        }
        for record in records where record.vector.count != first.vector.count {
            throw NodeFailure(.vector, "vector \"\(record.id)\" has \(record.vector.count) dimensions, the first has \(first.vector.count)")
        }
        let call = VectorUpsertCall(
            collection: name, ids: records.map(\.id), vectors: records.map(\.vector),
            payloadJSON: records.map { record in
                switch record.payload {
                case nil, .null?: return nil
                case .map?: return VectorPayload(metadata: record.payload).jsonText
                case let other?: return VectorPayload(document: other).jsonText
                }
            })
        if let written = try await routed("vectorUpsert", name, { try await $0.vectorUpsert(call) }) { return written.count }
        guard let coldStore else {
            var collection: LocalCollection
            if let existing = collections[name] {
                collection = existing
            } else {
                collection = try LocalCollection(name: name, dimension: first.vector.count, metric: metric, shardCount: 1)
            }
            try checkDimension(first.vector.count, of: collection)
            for record in records { try collection.upsert(id: record.id, vector: record.vector, payload: record.payload) }
            collections[name] = collection
            return records.count
        }
        let shape: VectorCollection
        do {
            if let existing = try await coldStore.collection(named: name) {
                shape = existing
            } else {
                shape = VectorCollection(name: name, dimension: first.vector.count, metric: metricName, shardCount: 1)
                try await coldStore.createCollection(shape)
                logger.info("vector collection created", metadata: ["collection": "\(name)", "dimension": "\(shape.dimension)", "metric": "\(metricName)"])
            }
        } catch {
            throw Self.failure(error, name)
        }
        guard shape.dimension == first.vector.count else {
            throw NodeFailure(.vector, "collection \"\(name)\" holds \(shape.dimension)-dimensional vectors; these have \(first.vector.count) (embed with the collection's model)")
        }
        let rows = records.map { record in
            VectorRecord(
                id: record.id, shard: Self.shard(of: record.id, count: shape.shardCount), vector: record.vector,
                metadataJSON: record.payload.map(\.jsonText))
        }
        do {
            try await coldStore.upsertVectors(rows, into: name)
        } catch {
            throw Self.failure(error, name)
        }
        return records.count
    }

    func query(_ vector: [Float], in name: String, k: Int) async throws(NodeFailure) -> [(id: String, score: Double, payload: GraphValue?)] {
        let call = VectorQueryCall(collection: name, vector: vector, k: k, readYourWrites: true)
        if let answer = try await routed("vectorQuery", name, { try await $0.vectorQuery(call) }) {
            if answer.partial { logger.warning("vector query partial: a shard had no replica answering", metadata: ["collection": "\(name)"]) }
            return answer.hits.map { hit in
                let payload = VectorPayload(storedJSON: hit.payloadJSON)
                var value = payload.metadata
                if let document = payload.document {
                    if case .map(var fields)? = value {
                        fields["document"] = document
                        value = .map(fields)
                    } else {
                        value = document
                    }
                }
                return (hit.id, hit.score, value)
            }
        }
        if coldStore != nil { try await catchUp(name) }
        guard let collection = collections[name] else {
            throw NodeFailure(.vector, "vector collection \"\(name)\" does not exist; ingest into it first (naksha ingest, or a vector.upsert node)")
        }
        try checkDimension(vector.count, of: collection)
        return try collection.search(vector, k: k)
    }

    private func checkDimension(_ dimension: Int, of collection: LocalCollection) throws(NodeFailure) {
        guard dimension == collection.dimension else {
            throw NodeFailure(
                .vector, "collection \"\(collection.name)\" holds \(collection.dimension)-dimensional vectors; got \(dimension) (use the same embedding model for ingest and query)")
        }
    }

    /// Applies every change in the cold store after the sequences applied here.
    private func catchUp(_ name: String) async throws(NodeFailure) {
        guard let coldStore else { return }
        var collection: LocalCollection
        if let loaded = collections[name] {
            collection = loaded
        } else {
            let shape: VectorCollection?
            do { shape = try await coldStore.collection(named: name) } catch { throw Self.failure(error, name) }
            guard let shape else { return }
            guard let metric = LocalCollection.metric(named: shape.metric) else {
                throw NodeFailure(.vector, "collection \"\(name)\" has the unknown metric \"\(shape.metric)\"")
            }
            collection = try LocalCollection(name: name, dimension: shape.dimension, metric: metric, shardCount: shape.shardCount)
        }
        var applied = 0
        for shard in 0..<collection.shardCount {
            while true {
                let after = collection.appliedSequence[shard] ?? 0
                let changes: [VectorChange]
                do {
                    changes = try await coldStore.vectorChanges(collection: name, shard: shard, afterSequence: after, limit: 10_000)
                } catch {
                    throw Self.failure(error, name)
                }
                for change in changes {
                    if change.isDeleted {
                        collection.delete(id: change.id)
                    } else {
                        let payload = readPayload(change, collection: name)
                        do {
                            try collection.upsert(id: change.id, vector: change.vector, payload: payload)
                        } catch {
                            // A row this index cannot hold (written by another tool) is skipped, so
                            // one bad row never blocks the collection; it is logged once here.
                            logger.warning("vector skipped", metadata: ["collection": "\(name)", "id": "\(change.id)", "error": "\(error)"])
                        }
                    }
                    collection.appliedSequence[shard] = change.sequence
                }
                applied += changes.count
                if changes.count < 10_000 { break }
            }
        }
        collections[name] = collection
        if applied > 0 { logger.debug("vector collection caught up", metadata: ["collection": "\(name)", "applied": "\(applied)", "count": "\(collection.count)"]) }
    }

    /// A change's payload, or nil when it has none or it does not read back: then the vector is
    /// still served (a query returns its id and score), and the loss is logged and counted
    /// (`naksha_worker_vector_payloads_unreadable_total`) rather than failing every query.
    private func readPayload(_ change: VectorChange, collection: String) -> GraphValue? {
        guard let json = change.metadataJSON else { return nil }
        do {
            return try GraphValue(parsingJSON: json, name: "payload")
        } catch {
            Counter(label: "naksha_worker_vector_payloads_unreadable_total", dimensions: [("collection", collection)]).increment()
            logger.warning("vector payload unreadable; served without it", metadata: ["collection": "\(collection)", "id": "\(change.id)", "error": "\(error)"])
            return nil
        }
    }

    /// A store failure as a node failure: retryable when the database could not be reached.
    private static func failure(_ error: any Error, _ name: String) -> NodeFailure {
        let transient = (error as? StoreError).map { [.connectionFailed, .connectionLost, .poolTimeout].contains($0.code) } ?? true
        return NodeFailure(.vector, "collection \"\(name)\": \(error)", retryable: transient)
    }
}
