import NakshaCore
import NakshaGraph

extension ClusterState {
    mutating func registerGraph(_ register: RegisterGraph, context: CommandContext) -> ClusterResult {
        switch resolveRegistration(name: register.name, yaml: register.yaml, contentHash: register.contentHash, context: context) {
        case .failure(let error): return .failure(error)
        case .success(let (record, created)):
            if created { insert(record) }
            return .success(.graphRegistered(record.info, created: created))
        }
    }

    mutating func setGraphConcurrency(_ graph: String, _ maxLeased: Int?) -> ClusterResult {
        if let maxLeased {
            guard maxLeased >= 1 else { return .failure(ClusterError(.invalidCommand, "a concurrency limit must be at least 1 (or none)")) }
            graphConcurrency[graph] = maxLeased
        } else {
            graphConcurrency[graph] = nil
        }
        return .success(.graphConcurrencySet(graph: graph, maxLeasedTasks: maxLeased))
    }

    /// Loads `yaml` and finds its place in the registry without changing it: the existing
    /// record when the same content is registered, a new record otherwise.
    func resolveRegistration(name: String?, yaml: String, contentHash: String, context: CommandContext) -> Result<(GraphVersionRecord, Bool), ClusterError> {
        guard !contentHash.isEmpty else { return .failure(ClusterError(.invalidCommand, "a graph registration needs a content hash")) }
        for versions in graphs.keys.sorted().compactMap({ graphs[$0] }) {
            if let existing = versions.first(where: { $0.info.contentHash == contentHash }), existing.yaml == yaml,
                name == nil || name == existing.info.name
            {
                return .success((existing, false))
            }
        }
        let definition: GraphDefinition
        do {
            definition = try GraphDefinition.load(yaml: yaml, fileName: name ?? "graph")
        } catch {
            return .failure(ClusterError(.invalidGraph, "\(error)"))
        }
        if let name, name != definition.name {
            return .failure(ClusterError(.invalidGraph, "the definition is named \"\(definition.name)\", not \"\(name)\""))
        }
        // A subgraph call runs the version it names, so that version must be registered first.
        for node in definition.nodes.keys.sorted() {
            guard let reference = definition.nodes[node]?.subgraph, graphRecord(reference) == nil else { continue }
            let known = graphs[reference.name].map { " (registered: " + $0.map { "\($0.info.reference)" }.joined(separator: ", ") + ")" } ?? ""
            return .failure(
                ClusterError(
                    .invalidGraph,
                    "unknown_subgraph: node \"\(node)\" of graph \(definition.reference) calls \(reference), which is not registered\(known); register it first"))
        }
        if let existing = graphRecord(definition.reference) {
            return .failure(
                ClusterError(
                    .graphVersionConflict,
                    "graph \(definition.reference) is already registered with other content (hash \(existing.info.contentHash)); raise its version"))
        }
        let info = GraphVersionInfo(name: definition.name, version: definition.version, contentHash: contentHash, registeredMillis: context.timestampMillis)
        return .success((GraphVersionRecord(info: info, yaml: yaml, definition: definition), true))
    }

    mutating func insert(_ record: GraphVersionRecord) {
        var versions = graphs[record.info.name] ?? []
        versions.append(record)
        versions.sort { $0.info.version < $1.info.version }
        graphs[record.info.name] = versions
    }

    mutating func submitJob(_ submit: SubmitJob, context: CommandContext) -> ClusterResult {
        pruneIdempotencyKeys(now: context.timestampMillis)
        // Resolve the graph without registering it yet: a refused submit writes nothing.
        let record: GraphVersionRecord
        let newGraph: Bool
        switch submit.graph {
        case .named(let name, let version):
            guard let versions = graphs[name], let last = versions.last else {
                return .failure(ClusterError(.unknownGraph, "no graph named \"\(name)\" is registered (see GET /v1/graphs)"))
            }
            if let version {
                guard let found = versions.first(where: { $0.info.version == version }) else {
                    return .failure(ClusterError(.unknownGraph, "graph \"\(name)\" has no version \(version)"))
                }
                record = found
            } else {
                record = last
            }
            newGraph = false
        case .inline(let yaml, let contentHash):
            switch resolveRegistration(name: nil, yaml: yaml, contentHash: contentHash, context: context) {
            case .failure(let error): return .failure(error)
            case .success(let (resolved, created)): (record, newGraph) = (resolved, created)
            }
        }
        let body = SubmitBody(graph: record.info.reference, contentHash: record.info.contentHash, input: submit.input, priority: submit.priority, fairnessKey: submit.fairnessKey)
        let bodyBytes: [UInt8]
        do { bodyBytes = try CanonicalEncoder.encode(body) } catch { preconditionFailure("canonical encoding cannot fail: \(error)") }
        let bodyHash = Self.fnv1a(bodyBytes)
        if let key = submit.idempotencyKey, let remembered = idempotency[key] {
            guard remembered.bodyHash == bodyHash, remembered.bodyLength == bodyBytes.count else {
                return .failure(
                    ClusterError(.idempotencyConflict, "idempotency key \"\(key)\" was used for job \(remembered.job) with a different body; use a new key"))
            }
            return .success(.jobSubmitted(remembered.job, status: jobs[remembered.job]?.status, existing: true))
        }
        let inputSize = Self.encodedSize(of: submit.input)
        guard inputSize <= limits.maxJobStateBytes else {
            return .failure(ClusterError(.stateTooLarge, "the input takes \(inputSize) bytes; the limit is \(limits.maxJobStateBytes)"))
        }
        let planner = GraphPlanner(graph: record.definition)
        let started: (state: PlannerState, step: PlannerStep)
        do {
            started = try planner.start(input: submit.input)
        } catch {
            return .failure(ClusterError(.invalidInput, "graph \(record.info.reference): \(error.message)"))
        }
        if newGraph { insert(record) }
        let id = newJobID(context: context)
        var job = JobRecord(
            id: id, graph: record.info.reference, contentHash: record.info.contentHash, input: submit.input,
            priority: submit.priority, fairnessKey: submit.fairnessKey, idempotencyKey: submit.idempotencyKey,
            status: .queued, planner: started.state, tasks: [], error: nil, createdMillis: context.timestampMillis,
            updatedMillis: context.timestampMillis, startedMillis: nil, finishedMillis: nil, events: [], eventsDroppedThrough: 0)
        Self.record(.status(.queued), in: &job, context: context, limits: limits)
        absorb(started.step, into: &job, context: context)
        jobs[id] = job
        jobOrder.append(id)
        if let key = submit.idempotencyKey {
            idempotency[key] = IdempotencyRecord(
                key: key, job: id, bodyHash: bodyHash, bodyLength: bodyBytes.count,
                expiresMillis: context.timestampMillis + limits.idempotencyTTLMillis)
            idempotencyOrder.append(key)
        }
        return .success(.jobSubmitted(id, status: job.status, existing: false))
    }

    /// Forgets idempotency keys whose TTL passed. Keys are in submit order, which is expiry
    /// order, so this stops at the first live key.
    mutating func pruneIdempotencyKeys(now: UInt64) {
        var expired = 0
        while expired < idempotencyOrder.count, let record = idempotency[idempotencyOrder[expired]], record.expiresMillis <= now {
            idempotency[idempotencyOrder[expired]] = nil
            expired += 1
        }
        if expired > 0 { idempotencyOrder.removeFirst(expired) }
    }

    static func fnv1a(_ bytes: [UInt8]) -> UInt64 { FNV1a.hash(bytes) }
}

/// What "the same submit" means for an idempotency key.
private struct SubmitBody: Encodable {
    var graph: GraphReference
    var contentHash: String
    var input: [String: GraphValue]
    var priority: Int
    var fairnessKey: String?
}
