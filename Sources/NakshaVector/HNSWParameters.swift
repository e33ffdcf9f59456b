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
    /// When a filtered query is answered by an exact scan of the matching vectors instead
    /// of a graph walk (exact keeps recall at 1.0; walks lose recall and speed as filters
    /// get selective). `nil` (the default) decides per query by cost: a walk that must
    /// collect `ef` matches at match fraction `f` computes about `ef·2m/f` distances, the
    /// scan computes `matches`, so the scan is used when `matches ≤ 1.5·ef·2m/f` (1.5: a
    /// walk's distances are random accesses, the scan's sequential). On 200,000 vectors with
    /// m = 16, ef = 64 that is below ≈ 12 % selectivity. A number forces a fixed threshold:
    /// exact when the match fraction is below it.
    public var exactScanBelowFraction: Double?

    public init(m: Int = 16, efConstruction: Int = 200, efSearch: Int = 64, seed: UInt64 = 0x6E61_6B73_6861, exactScanBelowFraction: Double? = nil) {
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
        if let fraction = exactScanBelowFraction, !(0...1).contains(fraction) {
            throw VectorError(code: .invalidParameter, message: "exactScanBelowFraction = \(fraction) is invalid: it must be in 0…1")
        }
    }
}
