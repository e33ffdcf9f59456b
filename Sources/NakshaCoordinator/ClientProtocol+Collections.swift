import NakshaClusterAPI
import NakshaCore
import NakshaGraph
import NakshaProtocol
import NakshaState

/// The shard map's methods of the client protocol: create, list and drop collections, and
/// the placement of their replicas (`naksha collection …`, `naksha shards list`).
extension ClientProtocol {
    static func addCollectionRoutes(to router: inout RPCRouter, coordinator: Coordinator) {
        let vectors = VectorRouter(coordinator: coordinator)
        router.unary(NakshaMethod.createCollection) { (request: Naksha_V1_CreateCollectionRequest, context) in
            guard let metric = VectorMetric(rawValue: request.metric.isEmpty ? "cosine" : request.metric) else {
                throw RPCError(.invalidArgument, "metric \"\(request.metric)\" is not one of cosine, ip, l2", reason: "invalidCommand")
            }
            guard let index = VectorIndexKind(rawValue: request.index.isEmpty ? "hnsw" : request.index) else {
                throw RPCError(.invalidArgument, "index \"\(request.index)\" is not one of flat, hnsw, int8", reason: "invalidCommand")
            }
            let spec = CollectionSpec(
                name: request.name, dimension: Int(request.dimension), metric: metric, index: index,
                shards: request.shards == 0 ? 1 : Int(request.shards), replicas: request.replicas == 0 ? 1 : Int(request.replicas))
            let (stored, epoch, created) = try await vectors.createCollection(spec, timeout: context.remaining(cap: .seconds(10)))
            var answer = collection(stored, epoch: epoch)
            answer.created = created
            return answer
        }
        router.unary(NakshaMethod.listCollections) { (_: Naksha_V1_ListCollectionsRequest, context) in
            let map = try await coordinator.readState(timeout: context.remaining(cap: .seconds(5))) { $0.shards }
            var response = Naksha_V1_ListCollectionsResponse()
            response.epoch = map.epoch
            response.collections = map.collections.keys.sorted().compactMap { map.collections[$0].map { collection($0, epoch: map.epoch) } }
            return response
        }
        router.unary(NakshaMethod.dropCollection) { (request: Naksha_V1_DropCollectionRequest, context) in
            let epoch = try await vectors.dropCollection(request.name, timeout: context.remaining(cap: .seconds(10)))
            var response = Naksha_V1_DropCollectionResponse()
            response.epoch = epoch
            return response
        }
        router.unary(NakshaMethod.listShards) { (request: Naksha_V1_ListShardsRequest, context) in
            let filter = request.collection
            let (map, workers) = try await coordinator.readState(timeout: context.remaining(cap: .seconds(5))) { state in
                (state.shards, state.workerList)
            }
            if !filter.isEmpty, map.collections[filter] == nil {
                throw RPCError(.notFound, "no collection named \"\(filter)\"", reason: "unknownCollection")
            }
            var response = Naksha_V1_ListShardsResponse()
            response.epoch = map.epoch
            response.shards = map.placements.filter { filter.isEmpty || $0.key.collection == filter }.map { placement in
                var item = Naksha_V1_ShardReplicas()
                item.collection = placement.key.collection
                item.shard = UInt32(placement.key.shard)
                item.workers = placement.workers.map(\.rawValue)
                item.underReplicated = placement.workers.count < (map.collections[placement.key.collection]?.replicas ?? 0)
                item.movingFrom = placement.move?.from.rawValue ?? ""
                item.movingTo = placement.move?.to.rawValue ?? ""
                item.refusedBy = (placement.refusedBy ?? []).map(\.rawValue)
                return item
            }
            let counts = map.replicaCounts
            let reports = await vectors.workerStatuses(workers, timeout: min(context.remaining(cap: .seconds(2)), .seconds(2)))
            response.workers = workers.map { worker in
                var item = Naksha_V1_WorkerShards()
                item.worker = worker.id.rawValue
                item.replicas = UInt32(counts[worker.id] ?? 0)
                item.memoryBudgetBytes = worker.memoryBudgetBytes
                if let report = reports[worker.id] {
                    item.reachable = true
                    item.memoryUsedBytes = report.memoryBytes
                    item.ready = UInt32(report.replicas.filter { $0.state == .ready }.count)
                    item.loading = UInt32(report.replicas.filter { $0.state == .loading }.count)
                    item.refused = UInt32(report.replicas.filter { $0.state == .refused }.count)
                    item.draining = UInt32(report.replicas.filter { $0.state == .draining }.count)
                    item.vectors = UInt64(report.replicas.filter { $0.state == .ready }.reduce(0) { $0 + $1.vectors })
                }
                return item
            }
            return response
        }
        router.unary(NakshaMethod.moveShard) { (request: Naksha_V1_MoveShardRequest, context) in
            let move = MoveShard(
                collection: request.collection, shard: Int(request.shard), from: request.from.isEmpty ? nil : WorkerID(rawValue: request.from),
                to: WorkerID(rawValue: request.to))
            let outcome = try await coordinator.propose(.moveShard(move), timeout: context.remaining(cap: .seconds(10)))
            guard case .shardMovesStarted(let moves, let epoch) = outcome else { throw RPCError(.internal, "unexpected outcome \(outcome)") }
            return movesResponse(moves, epoch: epoch, dryRun: false)
        }
        router.unary(NakshaMethod.rebalanceShards) { (request: Naksha_V1_RebalanceShardsRequest, context) in
            let limit = request.maxMoves == 0 ? nil : Int(request.maxMoves)
            if request.dryRun {
                let (moves, epoch) = try await coordinator.readState(timeout: context.remaining(cap: .seconds(5))) { state in
                    (state.shards.rebalancePlan(workers: state.shardWorkers, limit: limit ?? .max), state.shards.epoch)
                }
                return movesResponse(moves, epoch: epoch, dryRun: true)
            }
            let outcome = try await coordinator.propose(.rebalanceShards(RebalanceShards(maxMoves: limit)), timeout: context.remaining(cap: .seconds(10)))
            guard case .shardMovesStarted(let moves, let epoch) = outcome else { throw RPCError(.internal, "unexpected outcome \(outcome)") }
            return movesResponse(moves, epoch: epoch, dryRun: false)
        }
        router.unary(NakshaMethod.upsertVectors) { (request: Naksha_V1_UpsertVectorsRequest, _) in
            var items: [VectorItem] = []
            items.reserveCapacity(request.vectors.count)
            let textual = request.vectors.indices.filter { request.vectors[$0].vector.isEmpty && !request.vectors[$0].text.isEmpty }
            let embedded = try await vectors.embed(
                textual.map { request.vectors[$0].text }, model: request.model.isEmpty ? nil : request.model, for: request.collection)
            let embeddedAt = Dictionary(uniqueKeysWithValues: zip(textual, embedded))
            for (position, record) in request.vectors.enumerated() {
                let metadata = try json(record.metadataJson, at: "vectors[\(position)].metadata_json")
                if let metadata, case .map = metadata {} else if metadata != nil {
                    throw VectorServiceError(.invalidInput, "vectors[\(position)].metadata_json must be a JSON object")
                }
                var document = try json(record.documentJson, at: "vectors[\(position)].document_json")
                if document == nil, !record.text.isEmpty { document = .map(["text": .string(record.text)]) }
                items.append(VectorItem(id: record.id, vector: embeddedAt[position] ?? record.vector, payload: VectorPayload(metadata: metadata, document: document)))
            }
            let answer = try await vectors.upsert(items, into: request.collection)
            return writeResponse(answer)
        }
        router.unary(NakshaMethod.deleteVectors) { (request: Naksha_V1_DeleteVectorsRequest, _) in
            writeResponse(try await vectors.delete(ids: request.ids, from: request.collection))
        }
        router.unary(NakshaMethod.queryVectors) { (request: Naksha_V1_QueryVectorsRequest, context) in
            try await answerQuery(request, context: context, vectors: vectors)
        }
    }

    /// A single or batched query.
    static func answerQuery(
        _ request: Naksha_V1_QueryVectorsRequest, context: CallContext, vectors: VectorRouter
    ) async throws -> Naksha_V1_QueryVectorsResponse {
        let consistencyName = request.consistency.isEmpty ? "eventual" : request.consistency
        guard let consistency = ReadConsistency(rawValue: consistencyName) else {
            throw VectorServiceError(.invalidInput, "consistency \"\(consistencyName)\" is not one of eventual, read_your_writes")
        }
        let model = request.model.isEmpty ? nil : request.model
        var vector = request.vector
        if vector.isEmpty, !request.text.isEmpty {
            vector = try await vectors.embed([request.text], model: model, for: request.collection)[0]
        }
        let query = VectorQuery(
            collection: request.collection, vector: vector, k: request.k == 0 ? 10 : Int(request.k),
            filterJSON: request.filterJson.isEmpty ? nil : request.filterJson, consistency: consistency,
            afterSequences: request.after.isEmpty ? nil : Dictionary(uniqueKeysWithValues: request.after.map { (Int($0.key), $0.value) }),
            timeout: context.remaining(cap: .seconds(5)))
        var batch = request.batch.map(\.vector)
        if batch.isEmpty, !request.texts.isEmpty {
            batch = try await vectors.embed(request.texts, model: model, for: request.collection, limit: VectorRouter.maxBatchQueries)
        }
        guard !batch.isEmpty else { return queryResponse(try await vectors.query(query)) }
        let results = try await vectors.query(batch: batch, query)
        var response = Naksha_V1_QueryVectorsResponse()
        response.batch = results.map { queryResponse($0) }
        response.askedPerShard = UInt32(results.first?.askedPerShard ?? 0)
        response.epoch = results.first?.epoch ?? 0
        return response
    }

    static func queryResponse(_ result: VectorQueryResult) -> Naksha_V1_QueryVectorsResponse {
        var response = Naksha_V1_QueryVectorsResponse()
        response.results = result.hits.map { hit in
            let payload = VectorPayload(storedJSON: hit.payloadJSON)
            var item = Naksha_V1_VectorHit()
            item.id = hit.id
            item.score = hit.score
            item.metadataJson = payload.metadata?.jsonText ?? ""
            item.documentJson = payload.document?.jsonText ?? ""
            return item
        }
        response.partial = result.partial
        response.exact = result.exact
        response.missingShards = result.missingShards.map { UInt32($0) }
        response.askedPerShard = UInt32(result.askedPerShard)
        response.epoch = result.epoch
        return response
    }

    static func json(_ text: String, at path: String) throws -> GraphValue? {
        guard !text.isEmpty else { return nil }
        do {
            return try GraphValue(parsingJSON: text, name: path)
        } catch {
            throw VectorServiceError(.invalidInput, "\(path) is not JSON: \(error)")
        }
    }

    static func writeResponse(_ answer: VectorWriteAnswer) -> Naksha_V1_VectorWriteResponse {
        var response = Naksha_V1_VectorWriteResponse()
        response.count = UInt32(answer.count)
        response.sequences = Dictionary(uniqueKeysWithValues: answer.sequences.map { (UInt32($0.key), $0.value) })
        return response
    }

    static func movesResponse(_ moves: [PlannedShardMove], epoch: UInt64, dryRun: Bool) -> Naksha_V1_ShardMovesResponse {
        var response = Naksha_V1_ShardMovesResponse()
        response.moves = moves.map { move in
            var item = Naksha_V1_ShardMove()
            item.collection = move.key.collection
            item.shard = UInt32(move.key.shard)
            item.from = move.from.rawValue
            item.to = move.to.rawValue
            return item
        }
        response.epoch = epoch
        response.dryRun = dryRun
        return response
    }

    static func collection(_ spec: CollectionSpec, epoch: UInt64) -> Naksha_V1_Collection {
        var message = Naksha_V1_Collection()
        message.name = spec.name
        message.dimension = UInt32(clamping: spec.dimension)
        message.metric = spec.metric.rawValue
        message.index = spec.index.rawValue
        message.shards = UInt32(clamping: spec.shards)
        message.replicas = UInt32(clamping: spec.replicas)
        message.createdMs = spec.createdMillis
        message.epoch = epoch
        return message
    }
}
