import NakshaGraph

/// `vector.query`: the `topK` (default 5) nearest neighbours of `vector` in `collection`,
/// closest first, each a map of its payload's fields (a non-map payload under `payload`) plus
/// `id` and `score` (for cosine, 1 is identical). Hits scoring under `minScore` are dropped.
/// A query sees every upsert whose task completed before this task was leased.
struct VectorQueryNode: NodeExecutor {
    func run(_ context: NodeContext) async throws(NodeFailure) -> NodeResult {
        guard let collection = try context.render("collection") ?? context.string("collection"), !collection.isEmpty else {
            throw NodeFailure(.invalidParameter, "vector.query needs a collection name")
        }
        let vectors = try Self.vectors(try context.evaluate("vector"), what: "vector")
        guard vectors.count == 1, let vector = vectors.first else {
            throw NodeFailure(.invalidParameter, "vector.query needs one vector, got \(vectors.count)")
        }
        let k = context.int("topK") ?? 5
        guard (1...1000).contains(k) else { throw NodeFailure(.invalidParameter, "topK must be 1…1000, not \(k)") }
        let minimum = context.double("minScore")
        let hits = try await context.vectors.query(vector, in: collection, k: k)
        var results: [GraphValue] = []
        for hit in hits where minimum.map({ hit.score >= $0 }) ?? true {
            var fields: [String: GraphValue] = [:]
            switch hit.payload {
            case .map(let entries)?: fields = entries
            case let other?: fields["payload"] = other
            case nil: break
            }
            fields["id"] = .string(hit.id)
            fields["score"] = .double((hit.score * 10_000).rounded() / 10_000)
            results.append(.map(fields))
        }
        return NodeResult(output: context.single(.list(results)))
    }

    /// A list of vectors from a value that is one vector (a list of numbers) or a list of them.
    static func vectors(_ value: GraphValue?, what: String) throws(NodeFailure) -> [[Float]] {
        guard case .list(let items)? = value else { throw NodeFailure(.invalidParameter, "\(what) must be a list of numbers, or a list of such lists") }
        if items.isEmpty { return [] }
        if case .list = items[0] {
            var vectors: [[Float]] = []
            for item in items { vectors.append(try numbers(item, what: what)) }
            return vectors
        }
        return [try numbers(.list(items), what: what)]
    }

    private static func numbers(_ value: GraphValue, what: String) throws(NodeFailure) -> [Float] {
        guard case .list(let items) = value, !items.isEmpty else { throw NodeFailure(.invalidParameter, "\(what): a vector must be a non-empty list of numbers") }
        var vector: [Float] = []
        vector.reserveCapacity(items.count)
        for item in items {
            switch item {
            case .double(let number) where Float(number).isFinite: vector.append(Float(number))
            case .int(let number) where Float(number).isFinite: vector.append(Float(number))
            default: throw NodeFailure(.invalidParameter, "\(what): a vector holds only numbers that are finite as 32-bit floats")
            }
        }
        return vector
    }
}
