import NakshaGraph

/// What is stored with each vector of a sharded collection, in the cold store's `metadata`
/// column as one JSON object: `{"metadata": {…}, "document": …}`, either key absent when
/// not given. `metadata` is what filters match; `document` is the chunk's text and source,
/// returned with results so answers can cite it.
///
/// A stored object with other keys (written by a `vector.upsert` node before collections were
/// sharded) is read as the metadata itself.
public struct VectorPayload: Sendable, Hashable {
    public var metadata: GraphValue?
    public var document: GraphValue?

    public init(metadata: GraphValue? = nil, document: GraphValue? = nil) {
        self.metadata = metadata
        self.document = document
    }

    /// The stored JSON, or nil when there is nothing to store.
    public var jsonText: String? {
        var fields: [String: GraphValue] = [:]
        if let metadata { fields["metadata"] = metadata }
        if let document { fields["document"] = document }
        return fields.isEmpty ? nil : GraphValue.map(fields).jsonText
    }

    /// Reads a stored payload; a text that is not JSON reads as an empty payload.
    public init(storedJSON: String?) {
        // A payload that does not parse (written by another tool) is served empty: the vector
        // still answers with its id and score rather than failing every query.
        guard let storedJSON, let value = try? GraphValue(parsingJSON: storedJSON, name: "payload") else {
            self.init()
            return
        }
        if case .map(let fields) = value, !fields.isEmpty, Set(fields.keys).isSubset(of: ["metadata", "document"]) {
            self.init(metadata: fields["metadata"], document: fields["document"])
        } else {
            self.init(metadata: value)
        }
    }
}
