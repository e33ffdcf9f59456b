import Hummingbird
import NakshaClusterAPI
import NakshaCore
import NakshaGraph
import NakshaState

/// The vector API (docs/vectors.md): collections, upserts, deletes and queries, on every
/// coordinator, at `/v1/…` and `/api/v1/…`. Bad input is answered 400, 404, 409, 413 or
/// 422 and nothing is written.
extension HTTPGateway {
    /// The largest upsert body (10,000 vectors of 384 dimensions as JSON fit).
    static let maxVectorBodyBytes = 64 << 20

    static func addVectorRoutes(to router: Router<BasicRequestContext>, coordinator: Coordinator) {
        let vectors = VectorRouter(coordinator: coordinator)
        for prefix in ["v1", "api/v1"] {
            router.post("\(prefix)/collections") { request, _ in
                try await handlingVectors {
                    let fields = try await vectorBody(request, limit: maxRequestBytes)
                    let spec = try collectionSpec(fields)
                    let (stored, epoch, created) = try await vectors.createCollection(spec)
                    return rawJSON(collectionJSON(stored, epoch: epoch, created: created), status: created ? .created : .ok)
                }
            }
            router.get("\(prefix)/collections") { _, _ in
                try await handlingVectors {
                    let map = try await coordinator.readState { $0.shards }
                    let items = map.collections.keys.sorted().compactMap { map.collections[$0].map { collectionJSON($0, epoch: map.epoch, created: nil) } }
                    return rawJSON("{\"collections\":\(JobJSON.array(items)),\"epoch\":\(map.epoch)}")
                }
            }
            router.delete("\(prefix)/collections/:name") { _, context in
                try await handlingVectors {
                    let name = context.parameters.get("name") ?? ""
                    let epoch = try await vectors.dropCollection(name)
                    return rawJSON("{\"dropped\":\(JSONText.quoted(name)),\"epoch\":\(epoch)}")
                }
            }
            router.post("\(prefix)/vector/upsert") { request, _ in
                try await handlingVectors {
                    let fields = try await embeddingTexts(try await vectorBody(request, limit: maxVectorBodyBytes), coordinator: coordinator)
                    let name = try collectionName(fields)
                    guard case .list(let entries)? = fields["vectors"] else {
                        throw VectorServiceError(.invalidInput, "give \"vectors\": a list of {\"id\", \"vector\", \"metadata\", \"document\"}")
                    }
                    var items: [VectorItem] = []
                    items.reserveCapacity(entries.count)
                    for (position, entry) in entries.enumerated() { items.append(try vectorItem(entry, at: "vectors[\(position)]")) }
                    let answer = try await vectors.upsert(items, into: name)
                    return rawJSON("{\"upserted\":\(answer.count),\"sequences\":\(sequencesJSON(answer.sequences))}")
                }
            }
            router.post("\(prefix)/vector/delete") { request, _ in
                try await handlingVectors {
                    let fields = try await vectorBody(request, limit: maxRequestBytes)
                    let name = try collectionName(fields)
                    guard case .list(let entries)? = fields["ids"] else { throw VectorServiceError(.invalidInput, "give \"ids\": a list of vector ids") }
                    var ids: [String] = []
                    for (position, entry) in entries.enumerated() {
                        guard case .string(let id) = entry else { throw VectorServiceError(.invalidInput, "ids[\(position)] must be a string") }
                        ids.append(id)
                    }
                    let answer = try await vectors.delete(ids: ids, from: name)
                    return rawJSON("{\"deleted\":\(answer.count),\"sequences\":\(sequencesJSON(answer.sequences))}")
                }
            }
            router.post("\(prefix)/vector/query") { request, _ in
                try await handlingVectors {
                    let fields = try await embeddingTexts(try await vectorBody(request, limit: maxRequestBytes), coordinator: coordinator)
                    let query = try vectorQuery(fields)
                    if let batch = fields["vectors"] {
                        guard case .list(let entries) = batch else { throw VectorServiceError(.invalidInput, "\"vectors\" must be a list of query vectors") }
                        let queries = try entries.enumerated().map { position, entry in try floats(entry, at: "vectors[\(position)]") }
                        let results = try await vectors.query(batch: queries, query)
                        var object = JobJSON.Object()
                        object.set("batch", raw: JobJSON.array(results.map(queryJSON)))
                        object.set("asked_per_shard", results.first?.askedPerShard ?? 0)
                        object.set("epoch", results.first?.epoch ?? 0)
                        return rawJSON(object.text)
                    }
                    let result = try await vectors.query(query)
                    return rawJSON(queryJSON(result))
                }
            }
        }
    }

    static func handlingVectors(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await handlingJobs(body)
        } catch let error as VectorServiceError {
            return problem(status(for: error.code), error.code.rawValue, error.message)
        }
    }

    static func status(for code: VectorServiceError.Code) -> HTTPResponse.Status {
        switch code {
        case .invalidFilter: .badRequest
        case .invalidInput, .dimensionMismatch: .unprocessableContent
        case .unknownCollection: .notFound
        case .tooLarge: .contentTooLarge
        case .conflict: .conflict
        case .coldStoreRequired, .coldStoreUnavailable: .serviceUnavailable
        case .embeddingFailed: .badGateway
        }
    }

    /// The body as a JSON object, read up to `limit` bytes.
    static func vectorBody(_ request: Request, limit: Int) async throws -> [String: GraphValue] {
        var request = request
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw VectorServiceError(.tooLarge, "the body has \(length) bytes; the limit is \(limit)")
        }
        let body: [UInt8]
        do {
            body = Array(buffer: try await request.collectBody(upTo: limit))
        } catch {
            throw VectorServiceError(.tooLarge, "the body is over the limit of \(limit) bytes")
        }
        let value: GraphValue
        do {
            value = try GraphValue(parsingJSON: String(decoding: body, as: UTF8.self), name: "body")
        } catch {
            throw JobRequestError(.badRequest, "badRequest", "the body is not JSON: \(error)")
        }
        guard case .map(let fields) = value else { throw JobRequestError(.badRequest, "badRequest", "the body must be a JSON object") }
        return fields
    }

    static func collectionName(_ fields: [String: GraphValue]) throws -> String {
        guard case .string(let name)? = fields["collection"], !name.isEmpty else {
            throw VectorServiceError(.invalidInput, "give \"collection\": the collection's name")
        }
        return name
    }

    static func integer(_ fields: [String: GraphValue], _ key: String) throws -> Int? {
        switch fields[key] {
        case nil, .null?: return nil
        case .int(let value)?: return value
        case .double(let value)? where value.rounded() == value && abs(value) < 1e15: return Int(value)
        default: throw VectorServiceError(.invalidInput, "\"\(key)\" must be an integer")
        }
    }

    static func string(_ fields: [String: GraphValue], _ key: String) throws -> String? {
        switch fields[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default: throw VectorServiceError(.invalidInput, "\"\(key)\" must be a string")
        }
    }

    static func collectionSpec(_ fields: [String: GraphValue]) throws -> CollectionSpec {
        guard let name = try string(fields, "name"), !name.isEmpty else { throw VectorServiceError(.invalidInput, "give \"name\": the collection's name") }
        guard let dimension = try integer(fields, "dimension") else { throw VectorServiceError(.invalidInput, "give \"dimension\": the vectors' length") }
        let metricName = try string(fields, "metric") ?? "cosine"
        guard let metric = VectorMetric(rawValue: metricName) else {
            throw VectorServiceError(.invalidInput, "metric \"\(metricName)\" is not one of cosine, ip, l2")
        }
        let indexName = try string(fields, "index") ?? "hnsw"
        guard let index = VectorIndexKind(rawValue: indexName) else {
            throw VectorServiceError(.invalidInput, "index \"\(indexName)\" is not one of flat, hnsw, int8")
        }
        return CollectionSpec(
            name: name, dimension: dimension, metric: metric, index: index, shards: try integer(fields, "shards") ?? 1,
            replicas: try integer(fields, "replicas") ?? 1)
    }

    static func floats(_ value: GraphValue?, at path: String) throws -> [Float] {
        guard case .list(let items)? = value else { throw VectorServiceError(.invalidInput, "\(path) must be a list of numbers") }
        var vector: [Float] = []
        vector.reserveCapacity(items.count)
        for item in items {
            switch item {
            case .int(let number): vector.append(Float(number))
            case .double(let number): vector.append(Float(number))
            default: throw VectorServiceError(.invalidInput, "\(path) must be a list of numbers; it holds a \(item.kindName)")
            }
        }
        return vector
    }

    /// Embeds every `"text"` that comes without a `"vector"` — the query's, or each upsert
    /// item's, in one batch — with `"model"` (default: the coordinator's default embedding
    /// model, the one `naksha ingest` uses) and puts the vector in its place. An upserted item
    /// without a `"document"` keeps its text as `{"text": …}` so answers can cite it. The
    /// collection checks the dimension as for any vector.
    static func embeddingTexts(_ fields: [String: GraphValue], coordinator: Coordinator) async throws -> [String: GraphValue] {
        var fields = fields
        let model = try string(fields, "model")
        var texts: [String] = []
        var positions: [Int] = []
        var entries: [GraphValue] = []
        if case .list(let items)? = fields["vectors"] {
            entries = items
            for (position, item) in items.enumerated() {
                guard case .map(let entry) = item, entry["vector"] == nil || entry["vector"] == .null, let text = entry["text"] else { continue }
                guard case .string(let string) = text, !string.isEmpty else {
                    throw VectorServiceError(.invalidInput, "vectors[\(position)].text must be a non-empty string")
                }
                texts.append(string)
                positions.append(position)
            }
        } else if fields["vectors"] == nil, case .list(let items)? = fields["texts"] {
            for (position, item) in items.enumerated() {
                guard case .string(let string) = item, !string.isEmpty else { throw VectorServiceError(.invalidInput, "texts[\(position)] must be a non-empty string") }
                texts.append(string)
            }
            guard !texts.isEmpty else { throw VectorServiceError(.invalidInput, "\"texts\" is empty") }
            let embedded = try await VectorRouter(coordinator: coordinator).embed(
                texts, model: model, for: try collectionName(fields), limit: VectorRouter.maxBatchQueries)
            fields["vectors"] = .list(embedded.map { GraphValue.list($0.map { .double(Double($0)) }) })
            return fields
        } else if fields["vector"] == nil || fields["vector"] == .null, let text = fields["text"] {
            guard case .string(let string) = text, !string.isEmpty else { throw VectorServiceError(.invalidInput, "\"text\" must be a non-empty string") }
            texts = [string]
        }
        guard !texts.isEmpty else { return fields }
        let vectors = try await VectorRouter(coordinator: coordinator).embed(texts, model: model, for: try collectionName(fields))
            .map { GraphValue.list($0.map { .double(Double($0)) }) }
        if positions.isEmpty {
            fields["vector"] = vectors[0]
            return fields
        }
        for (index, position) in positions.enumerated() {
            guard case .map(var entry) = entries[position] else { continue }
            entry["vector"] = vectors[index]
            if entry["document"] == nil || entry["document"] == .null { entry["document"] = .map(["text": .string(texts[index])]) }
            entry["text"] = nil
            entries[position] = .map(entry)
        }
        fields["vectors"] = .list(entries)
        return fields
    }

    static func vectorItem(_ entry: GraphValue, at path: String) throws -> VectorItem {
        guard case .map(let fields) = entry else { throw VectorServiceError(.invalidInput, "\(path) must be an object {\"id\", \"vector\", …}") }
        guard case .string(let id)? = fields["id"] else { throw VectorServiceError(.invalidInput, "\(path).id must be a string") }
        let vector = try floats(fields["vector"], at: "\(path).vector")
        var metadata = fields["metadata"]
        if metadata == .null { metadata = nil }
        if let metadata, case .map = metadata {} else if metadata != nil {
            throw VectorServiceError(.invalidInput, "\(path).metadata must be an object")
        }
        var document = fields["document"]
        if document == .null { document = nil }
        return VectorItem(id: id, vector: vector, payload: VectorPayload(metadata: metadata, document: document))
    }

    static func vectorQuery(_ fields: [String: GraphValue]) throws -> VectorQuery {
        let name = try collectionName(fields)
        // A batch (`"vectors"`) is answered by `query(batch:)`; its vectors are parsed there.
        let vector = fields["vectors"] == nil ? try floats(fields["vector"], at: "vector") : []
        let consistencyName = try string(fields, "consistency") ?? "eventual"
        guard let consistency = ReadConsistency(rawValue: consistencyName) else {
            throw VectorServiceError(.invalidInput, "consistency \"\(consistencyName)\" is not one of eventual, read_your_writes")
        }
        var after: [Int: Int64]?
        if case .map(let sequences)? = fields["after"] {
            var parsed: [Int: Int64] = [:]
            for (shard, value) in sequences {
                guard let number = Int(shard), case .int(let sequence) = value else {
                    throw VectorServiceError(.invalidInput, "\"after\" maps shard numbers to sequences, as an upsert answers")
                }
                parsed[number] = Int64(sequence)
            }
            after = parsed
        }
        var filterJSON: String?
        switch fields["filter"] {
        case nil, .null?: filterJSON = nil
        case .map(let filter)?: filterJSON = GraphValue.map(filter).jsonText
        default: throw VectorServiceError(.invalidFilter, "\"filter\" must be an object such as {\"lang\": \"en\"}")
        }
        let timeout = try integer(fields, "timeout_ms").map { Duration.milliseconds(max(1, min($0, 60_000))) } ?? .seconds(5)
        return VectorQuery(
            collection: name, vector: vector, k: try integer(fields, "k") ?? 10, filterJSON: filterJSON, consistency: consistency,
            afterSequences: after, timeout: timeout)
    }

    static func sequencesJSON(_ sequences: [Int: Int64]) -> String {
        "{" + sequences.keys.sorted().map { "\"\($0)\":\(sequences[$0] ?? 0)" }.joined(separator: ",") + "}"
    }

    static func collectionJSON(_ spec: CollectionSpec, epoch: UInt64, created: Bool?) -> String {
        var object = JobJSON.Object()
        object.set("name", spec.name)
        object.set("dimension", spec.dimension)
        object.set("metric", spec.metric.rawValue)
        object.set("index", spec.index.rawValue)
        object.set("shards", spec.shards)
        object.set("replicas", spec.replicas)
        object.set("created_ms", spec.createdMillis)
        object.set("epoch", epoch)
        if let created { object.set("created", created) }
        return object.text
    }

    static func queryJSON(_ result: VectorQueryResult) -> String {
        let hits = result.hits.map { hit -> String in
            let payload = VectorPayload(storedJSON: hit.payloadJSON)
            var object = JobJSON.Object()
            object.set("id", hit.id)
            object.set("score", raw: hit.score.isFinite ? "\(hit.score)" : "null")
            object.set("metadata", raw: payload.metadata?.jsonText ?? "null")
            object.set("document", raw: payload.document?.jsonText ?? "null")
            return object.text
        }
        var object = JobJSON.Object()
        object.set("results", raw: JobJSON.array(hits))
        object.set("partial", result.partial)
        object.set("exact", result.exact)
        object.set("missing_shards", raw: "[" + result.missingShards.map(String.init).joined(separator: ",") + "]")
        object.set("asked_per_shard", result.askedPerShard)
        object.set("epoch", result.epoch)
        return object.text
    }
}
