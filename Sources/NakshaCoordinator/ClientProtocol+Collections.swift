import NakshaCore
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
                (state.shards, state.workerList.map { ($0.id.rawValue, $0.memoryBudgetBytes) })
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
                return item
            }
            let counts = map.replicaCounts
            response.workers = workers.map { id, budget in
                var item = Naksha_V1_WorkerShards()
                item.worker = id
                item.replicas = UInt32(counts[WorkerID(rawValue: id)] ?? 0)
                item.memoryBudgetBytes = budget
                return item
            }
            return response
        }
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
