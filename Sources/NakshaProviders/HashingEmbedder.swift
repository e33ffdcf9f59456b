/// The built-in offline embedder (`offline-hash-<dimension>`, for example `offline-hash-384`):
/// feature hashing of a text's content words (weight 1), word bigrams (weight 0.5) and the
/// character trigrams of each word (weight 0.25), each hashed to a coordinate with a hashed
/// sign, then L2-normalised.
///
/// Texts that share words or word pieces get a higher cosine similarity than texts that do
/// not, so retrieval over it behaves like a lexical search. It needs no network and no model
/// file, and it is deterministic: the same text gives the same vector on every machine.
public struct HashingEmbedder: Sendable, Equatable {
    /// The model name prefix; the dimension follows it.
    public static let modelPrefix = "offline-hash-"
    public static let dimensions = 8...4096

    public let dimension: Int

    public init(dimension: Int) throws(ProviderError) {
        guard Self.dimensions.contains(dimension) else {
            throw ProviderError(.unknownModel, "offline-hash dimension must be \(Self.dimensions.lowerBound)…\(Self.dimensions.upperBound), not \(dimension)")
        }
        self.dimension = dimension
    }

    /// The embedder a model name such as `offline-hash-384` names, or nil for other names.
    public init?(model: String) throws(ProviderError) {
        guard model.hasPrefix(Self.modelPrefix) else { return nil }
        guard let dimension = Int(model.dropFirst(Self.modelPrefix.count)) else {
            throw ProviderError(.unknownModel, "\"\(model)\" names no offline embedder; write offline-hash-<dimension>, e.g. offline-hash-384")
        }
        try self.init(dimension: dimension)
    }

    public var model: String { "\(Self.modelPrefix)\(dimension)" }

    /// The unit vector of `text`.
    /// - Throws: `invalidInput` when the text has no letters or digits.
    public func embed(_ text: String) throws(ProviderError) -> [Float] {
        let terms = TextFeatures.contentTerms(text)
        let words = terms.isEmpty ? TextFeatures.words(text) : terms
        guard !words.isEmpty else {
            throw ProviderError(.invalidInput, "nothing to embed: the text has no letters or digits")
        }
        var vector = [Float](repeating: 0, count: dimension)
        func add(_ feature: String, weight: Float) {
            let hash = TextFeatures.fnv1a(feature)
            let slot = Int(hash % UInt64(dimension))
            vector[slot] += (hash >> 63) == 0 ? weight : -weight
        }
        for (position, word) in words.enumerated() {
            add("w:" + word, weight: 1)
            if position > 0 { add("b:" + words[position - 1] + " " + word, weight: 0.5) }
            let padded = Array(" \(word) ")
            if padded.count > 3 {
                for start in 0...(padded.count - 3) { add("t:" + String(padded[start..<(start + 3)]), weight: 0.25) }
            }
        }
        var norm: Float = 0
        for value in vector { norm += value * value }
        norm = norm.squareRoot()
        guard norm > 0 else { throw ProviderError(.invalidInput, "nothing to embed: the text's features cancelled out") }
        return vector.map { $0 / norm }
    }
}
