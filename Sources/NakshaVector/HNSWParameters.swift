/// Construction and search parameters of an HNSW index (Malkov & Yashunin, 2016).
public struct HNSWParameters: Sendable, Hashable {
    /// Links per node on layers ≥ 1; layer 0 keeps up to `2·m`. Typical 12…48.
    public var m: Int
    /// Candidate list size while inserting (≥ m). Larger builds slower and better graphs.
    public var efConstruction: Int
    /// Default candidate list size while searching (≥ k is used). Larger is slower and
    /// more accurate; can be overridden per query.
    public var efSearch: Int
    /// Seed of the level generator: equal inputs, order and seed give an identical graph.
    public var seed: UInt64
    /// A filter matching less than this fraction of live vectors is answered by an exact
    /// scan of the matching vectors instead of a graph walk (keeps recall at 1.0 for
    /// selective filters, where graph walks lose it).
    public var exactScanBelowFraction: Double

    public init(m: Int = 16, efConstruction: Int = 200, efSearch: Int = 64, seed: UInt64 = 0x6E61_6B73_6861, exactScanBelowFraction: Double = 0.05) {
        self.m = m
        self.efConstruction = efConstruction
        self.efSearch = efSearch
        self.seed = seed
        self.exactScanBelowFraction = exactScanBelowFraction
    }

    func validate() throws(VectorError) {
        guard (2...256).contains(m) else { throw .invalidParameter("m", m, "in 2…256") }
        guard efConstruction >= 1 else { throw .invalidParameter("efConstruction", efConstruction, "≥ 1") }
        guard efSearch >= 1 else { throw .invalidParameter("efSearch", efSearch, "≥ 1") }
        guard (0...1).contains(exactScanBelowFraction) else {
            throw VectorError(code: .invalidParameter, message: "exactScanBelowFraction = \(exactScanBelowFraction) is invalid: it must be in 0…1")
        }
    }
}
