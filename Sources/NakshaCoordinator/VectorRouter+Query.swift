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

/// Queries: the plan (collection, sequences to reach, routes), single and batched
/// scatter-gather, and asking one shard's replicas with hedging.
extension VectorRouter {
    // MARK: Queries

    /// What a query needs before asking shards: the collection, the sequences each shard must
    /// reach, and the replicas that serve each shard with the map's epoch.
    struct QueryPlan: Sendable {
        var spec: CollectionSpec
        var minimum: [Int: Int64]
        var routes: [[(WorkerID, NodeAddress)]]
        var epoch: UInt64
    }

    private func plan(_ query: VectorQuery, vectors: [[Float]]) async throws -> QueryPlan {
        let spec = try await spec(query.collection)
        guard (1...Self.maxK).contains(query.k) else { throw VectorServiceError(.invalidInput, "k must be 1…\(Self.maxK), not \(query.k)") }
        for (position, vector) in vectors.enumerated() {
            let which = vectors.count == 1 ? "the query" : "query \(position)"
            guard vector.count == spec.dimension else {
                throw VectorServiceError(
                    .dimensionMismatch, "\(which) has \(vector.count) dimensions; collection \"\(spec.name)\" holds \(spec.dimension)")
            }
            guard vector.allSatisfy(\.isFinite) else { throw VectorServiceError(.invalidInput, "\(which) holds a value that is not a finite number") }
        }
        if let filter = query.filterJSON {
            do { _ = try VectorFilter.parse(json: filter) } catch { throw VectorServiceError(.invalidFilter, error.message) }
        }
        var minimum: [Int: Int64] = [:]
        if query.consistency == .readYourWrites {
            if let after = query.afterSequences {
                minimum = after
            } else {
                do { minimum = try await coldStore().shardSequences(collection: spec.name) } catch let error as VectorServiceError { throw error } catch {
                    throw VectorServiceError(.coldStoreUnavailable, "read_your_writes needs the cold store's sequences: \(error)")
                }
            }
        }
        let (routes, epoch): ([[(WorkerID, NodeAddress)]], UInt64) = await coordinator.localState { state in
            let routes = (0..<spec.shards).map { shard -> [(WorkerID, NodeAddress)] in
                let workers = state.shards.placement(of: ShardKey(collection: spec.name, shard: shard))?.workers ?? []
                return workers.compactMap { id in Self.address(state.worker(id)).map { (id, $0) } }
            }
            return (routes, state.shards.epoch)
        } ?? (Array(repeating: [], count: spec.shards), UInt64(0))
        return QueryPlan(spec: spec, minimum: minimum, routes: routes, epoch: epoch)
    }

    func query(_ query: VectorQuery) async throws -> VectorQueryResult {
        let started = ContinuousClock.now
        let deadline = started + query.timeout
        let plan = try await plan(query, vectors: [query.vector])
        let (spec, minimum, routes, epoch) = (plan.spec, plan.minimum, plan.routes, plan.epoch)
        let asked = ScatterGather.perShardK(k: query.k, shards: spec.shards)
        var answers = await ask(shards: Array(0..<spec.shards), routes: routes, query: query, k: asked, minimum: minimum, deadline: deadline)
        let again = ScatterGather.shardsToAskAgain(answers.map { $0?.hits }, asked: asked, k: query.k)
        if !again.isEmpty {
            let second = await ask(shards: again, routes: routes, query: query, k: query.k, minimum: minimum, deadline: deadline)
            for (position, shard) in again.enumerated() where second[position] != nil { answers[shard] = second[position] }
        }
        if let clientError = answers.lazy.compactMap({ $0?.clientError }).first { throw clientError }
        let missing = answers.indices.filter { answers[$0]?.hits == nil }
        let hits = ScatterGather.merge(answers.compactMap { $0?.hits }, k: query.k)
        let partial = !missing.isEmpty
        Counter(label: "naksha_vector_queries_total", dimensions: [("result", partial ? "partial" : "complete")]).increment()
        Timer(label: "naksha_vector_query_duration_seconds").recordSeconds((ContinuousClock.now - started).inSeconds)
        if partial {
            logger.warning("vector query partial", metadata: ["collection": "\(spec.name)", "missing_shards": "\(missing)"])
        }
        return VectorQueryResult(
            hits: hits, partial: partial, exact: !partial && answers.allSatisfy { $0?.exact == true }, missingShards: missing,
            askedPerShard: asked, epoch: epoch)
    }

    /// The most queries one batch may hold.
    static let maxBatchQueries = 1_000
    /// The most results one batch may ask for in all (queries × k): the answers of one shard
    /// must fit a frame of the actor transport.
    static let maxBatchResults = 100_000

    /// Several queries of one collection (same k, filter and consistency) answered together:
    /// each shard is asked once for the whole batch (one call per shard, and one pass of a flat
    /// index's batched kernel), then each query's answers are merged as for a single query,
    /// with the same Poisson bound and re-asking (batched per shard). Results are in the
    /// order of `vectors`; each says whether it is partial.
    func query(batch vectors: [[Float]], _ query: VectorQuery) async throws -> [VectorQueryResult] {
        guard !vectors.isEmpty else { throw VectorServiceError(.invalidInput, "a batch needs at least one query vector") }
        guard vectors.count <= Self.maxBatchQueries else {
            throw VectorServiceError(.tooLarge, "a batch holds \(vectors.count) queries; the limit is \(Self.maxBatchQueries)")
        }
        guard vectors.count * query.k <= Self.maxBatchResults else {
            throw VectorServiceError(
                .tooLarge, "a batch of \(vectors.count) queries with k = \(query.k) asks for \(vectors.count * query.k) results; the limit is \(Self.maxBatchResults) (send smaller batches)")
        }
        let started = ContinuousClock.now
        let deadline = started + query.timeout
        let plan = try await plan(query, vectors: vectors)
        let shards = plan.spec.shards
        let asked = ScatterGather.perShardK(k: query.k, shards: shards)
        let everyQuery = Array(vectors.indices)
        let firstRound = await askBatch(Dictionary(uniqueKeysWithValues: (0..<shards).map { ($0, everyQuery) }), vectors: vectors, plan: plan, query: query, k: asked, deadline: deadline)
        var hits: [[[ShardHit]]?] = (0..<shards).map { shard in firstRound[shard]?.hits }
        var exact: [Bool] = (0..<shards).map { firstRound[$0]?.exact ?? false }
        if let error = firstRound.values.lazy.compactMap(\.clientError).first { throw error }
        var again: [Int: [Int]] = [:]
        for position in vectors.indices {
            for shard in ScatterGather.shardsToAskAgain(hits.map { $0?[position] }, asked: asked, k: query.k) { again[shard, default: []].append(position) }
        }
        if !again.isEmpty {
            let second = await askBatch(again, vectors: vectors, plan: plan, query: query, k: query.k, deadline: deadline)
            for (shard, positions) in again {
                guard let answer = second[shard], let answerHits = answer.hits else { continue }
                for (index, position) in positions.enumerated() where index < answerHits.count { hits[shard]?[position] = answerHits[index] }
                exact[shard] = exact[shard] && answer.exact
            }
        }
        let missing = (0..<shards).filter { hits[$0] == nil }
        let partial = !missing.isEmpty
        Counter(label: "naksha_vector_queries_total", dimensions: [("result", partial ? "partial" : "complete")]).increment(by: vectors.count)
        Timer(label: "naksha_vector_query_duration_seconds").recordSeconds((ContinuousClock.now - started).inSeconds)
        if partial { logger.warning("vector batch query partial", metadata: ["collection": "\(plan.spec.name)", "missing_shards": "\(missing)"]) }
        return vectors.indices.map { position in
            VectorQueryResult(
                hits: ScatterGather.merge(hits.compactMap { $0?[position] }, k: query.k), partial: partial, exact: !partial && exact.allSatisfy { $0 },
                missingShards: missing, askedPerShard: asked, epoch: plan.epoch)
        }
    }

    struct BatchOutcome: Sendable {
        /// Per asked query, in the order asked; nil when no replica answered.
        var hits: [[ShardHit]]?
        var exact: Bool
        var clientError: VectorServiceError?
    }

    /// Asks each shard in `queriesByShard` for its queries (positions in `vectors`) at once.
    private func askBatch(
        _ queriesByShard: [Int: [Int]], vectors: [[Float]], plan: QueryPlan, query: VectorQuery, k: Int, deadline: ContinuousClock.Instant
    ) async -> [Int: BatchOutcome] {
        await withTaskGroup(of: (Int, BatchOutcome?).self) { group in
            for (shard, positions) in queriesByShard {
                let request = ShardBatchSearchRequest(
                    collection: plan.spec.name, shard: shard, vectors: positions.map { vectors[$0] }, k: k, filterJSON: query.filterJSON,
                    minSequence: plan.minimum[shard] ?? 0)
                let replicas = plan.routes.indices.contains(shard) ? plan.routes[shard] : []
                let key = ShardKey(collection: plan.spec.name, shard: shard)
                group.addTask {
                    switch await self.askReplicas(key, replicas: replicas, queries: positions.count, deadline: deadline, { try await $0.searchBatch(request) }) {
                    case .answered(let answer)?:
                        guard answer.hits.count == positions.count else { return (shard, nil) }  // a malformed answer counts as none
                        return (shard, BatchOutcome(hits: answer.hits, exact: answer.exact))
                    case .clientError(let error)?: return (shard, BatchOutcome(hits: nil, exact: false, clientError: error))
                    case nil: return (shard, nil)
                    }
                }
            }
            var outcomes: [Int: BatchOutcome] = [:]
            for await (shard, outcome) in group { outcomes[shard] = outcome }
            return outcomes
        }
    }

    struct ShardOutcome: Sendable {
        var hits: [ShardHit]?
        var exact: Bool
        var clientError: VectorServiceError?
    }

    /// Asks each of `shards` (their positions in `routes`) at once; an entry is nil when no
    /// replica of that shard answered.
    private func ask(
        shards: [Int], routes: [[(WorkerID, NodeAddress)]], query: VectorQuery, k: Int, minimum: [Int: Int64], deadline: ContinuousClock.Instant
    ) async -> [ShardOutcome?] {
        await withTaskGroup(of: (Int, ShardOutcome?).self) { group in
            for (position, shard) in shards.enumerated() {
                let request = ShardSearchRequest(
                    collection: query.collection, shard: shard, vector: query.vector, k: k, filterJSON: query.filterJSON,
                    minSequence: minimum[shard] ?? 0)
                let replicas = routes.indices.contains(shard) ? routes[shard] : []
                group.addTask { (position, await self.askShard(request, replicas: replicas, deadline: deadline)) }
            }
            var outcomes = [ShardOutcome?](repeating: nil, count: shards.count)
            for await (position, outcome) in group { outcomes[position] = outcome }
            return outcomes
        }
    }

    private enum Attempt<Answer: Sendable>: Sendable {
        case answered(WorkerID, Answer, seconds: Double)
        case failed(WorkerID, any Error)
        /// The hedge timer of the `launched`-th attempt ran out.
        case hedge(launched: Int)
    }

    enum ReplicaOutcome<Answer: Sendable>: Sendable {
        case answered(Answer)
        /// The request itself is wrong (a dimension, a filter): no replica would answer it.
        case clientError(VectorServiceError)
    }

    private func askShard(_ request: ShardSearchRequest, replicas: [(WorkerID, NodeAddress)], deadline: ContinuousClock.Instant) async -> ShardOutcome? {
        let key = ShardKey(collection: request.collection, shard: request.shard)
        switch await askReplicas(key, replicas: replicas, queries: 1, deadline: deadline, { try await $0.search(request) }) {
        case .answered(let answer)?: return ShardOutcome(hits: answer.hits, exact: answer.exact)
        case .clientError(let error)?: return ShardOutcome(hits: nil, exact: false, clientError: error)
        case nil: return nil
        }
    }

    /// Asks the shard's replicas, the one that answered last first. A replica that fails is
    /// replaced by the next at once; one that is slow (see `ScatterGather.hedgeDelay`, scaled
    /// by the number of `queries` in the call) gets the next asked alongside it, and the first
    /// answer wins — so a hung replica costs a hedge delay, not the whole deadline. Nil when no
    /// replica answered by the deadline.
    func askReplicas<Answer: Sendable>(
        _ key: ShardKey, replicas: [(WorkerID, NodeAddress)], queries: Int, deadline: ContinuousClock.Instant,
        _ call: @escaping @Sendable (ShardEndpoint) async throws -> Answer
    ) async -> ReplicaOutcome<Answer>? {
        let first = memory.preferred.withLock { $0[key] }
        let ordered = replicas.filter { $0.0 == first } + replicas.filter { $0.0 != first }
        let system = coordinator.system
        let memory = self.memory
        let logger = self.logger
        let scale = Double(max(1, queries))
        return await withTaskGroup(of: Attempt<Answer>.self) { group -> ReplicaOutcome<Answer>? in
            var launched = 0
            var outstanding = 0
            func launchNext() {
                let remaining = deadline - .now
                guard (launched < ordered.count), remaining > Duration.milliseconds(1) else { return }
                let (worker, address) = ordered[launched]
                launched += 1
                outstanding += 1
                group.addTask {
                    let started = ContinuousClock.now
                    do {
                        let endpoint = try ShardEndpoint.at(address, system: system)
                        let answer = try await NakshaActorSystem.$callTimeout.withValue(deadline - .now) { try await call(endpoint) }
                        return .answered(worker, answer, seconds: (ContinuousClock.now - started).inSeconds)
                    } catch {
                        return .failed(worker, error)
                    }
                }
                if launched < ordered.count {
                    let typical = memory.typicalSeconds.withLock { $0[key] }.map { $0 * scale }
                    let delay = ScatterGather.hedgeDelay(typicalSeconds: typical, remaining: remaining)
                    let attempt = launched
                    group.addTask {
                        do { try await Task.sleep(for: delay) } catch { return .hedge(launched: attempt) }  // cancelled: the shard answered
                        return .hedge(launched: attempt)
                    }
                }
            }
            launchNext()
            defer { group.cancelAll() }
            while let attempt = await group.next() {
                switch attempt {
                case .answered(let worker, let answer, let seconds):
                    memory.preferred.withLock { $0[key] = worker }
                    memory.typicalSeconds.withLock { $0[key] = ScatterGather.typicalSeconds(previous: $0[key], answered: seconds / scale) }
                    return .answered(answer)
                case .failed(_, let error as ClusterAPIError) where error.code == ClusterAPIError.dimensionMismatch:
                    return .clientError(VectorServiceError(.dimensionMismatch, error.message))
                case .failed(_, let error as ClusterAPIError) where error.code == ClusterAPIError.invalidFilter:
                    return .clientError(VectorServiceError(.invalidFilter, error.message))
                case .failed(let worker, let error):
                    outstanding -= 1
                    Counter(label: "naksha_vector_shard_calls_failed_total").increment()
                    logger.debug("shard replica did not answer", metadata: ["shard": "\(key)", "worker": "\(worker)", "error": "\(error)"])
                    memory.preferred.withLock { if $0[key] == worker { $0[key] = nil } }
                    launchNext()
                    if outstanding == 0 { return nil }
                case .hedge(let attempt):
                    // Only the newest attempt's timer counts: a failure already launched the next.
                    if attempt == launched, outstanding > 0, launched < ordered.count {
                        Counter(label: "naksha_vector_hedged_requests_total").increment()
                        launchNext()
                    }
                }
            }
            return nil
        }
    }
}
