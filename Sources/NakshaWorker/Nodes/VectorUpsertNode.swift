import NakshaGraph

/// `vector.upsert`: writes `vectors` (a list of vectors, or one vector) into `collection`,
/// with `ids` (strings, one per vector; required) and `payloads` (one value per vector,
/// typically a map with `text` and `source`). `metric` (cosine | ip | l2) applies when the
/// collection is created. Writes the count to its written key, if any.
struct VectorUpsertNode: NodeExecutor {
    func run(_ context: NodeContext) async throws(NodeFailure) -> NodeResult {
        guard let collection = try context.render("collection") ?? context.string("collection"), !collection.isEmpty else {
            throw NodeFailure(.invalidParameter, "vector.upsert needs a collection name")
        }
        var vectors = try VectorQueryNode.vectors(try context.evaluate("vectors"), what: "vectors")
        if vectors.isEmpty { return NodeResult(output: context.single(.int(0))) }
        guard case .list(let idValues)? = try context.evaluate("ids") else {
            throw NodeFailure(.invalidParameter, "vector.upsert needs ids: a list of strings, one per vector")
        }
        let ids = idValues.compactMap { value -> String? in if case .string(let text) = value { return text } else { return nil } }
        guard ids.count == vectors.count, ids.count == idValues.count, !ids.contains(where: \.isEmpty) else {
            throw NodeFailure(.invalidParameter, "vector.upsert has \(vectors.count) vectors and \(idValues.count) ids; give one non-empty string id per vector")
        }
        var payloads: [GraphValue?] = Array(repeating: nil, count: vectors.count)
        if let value = try context.evaluate("payloads") {
            guard case .list(let items) = value, items.count == vectors.count else {
                throw NodeFailure(.invalidParameter, "vector.upsert payloads must be a list with one value per vector")
            }
            payloads = items
        }
        var records: [VectorCollections.Record] = []
        for index in vectors.indices {
            records.append(VectorCollections.Record(id: ids[index], vector: vectors[index], payload: payloads[index]))
        }
        vectors = []
        let count = try await context.vectors.upsert(records, into: collection, metricName: context.string("metric") ?? "cosine")
        return NodeResult(output: context.single(.int(count)))
    }
}
