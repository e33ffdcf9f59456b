/// How two vectors are compared. Chosen when an index is created and fixed for its lifetime.
///
/// Every index reports a *distance*: smaller is closer, for every metric, so top-k and the
/// shard merge need one ordering only.
///
/// | metric          | distance reported            | range for finite input            |
/// |-----------------|------------------------------|-----------------------------------|
/// | `innerProduct`  | `-⟨q, x⟩`                    | any real                          |
/// | `squaredL2`     | `‖q − x‖²`                   | ≥ 0                               |
/// | `cosine`        | `1 − ⟨q, x⟩ / (‖q‖·‖x‖)`     | [0, 2]; a zero vector gives 1     |
public enum DistanceMetric: String, Sendable, Hashable, CaseIterable {
    case innerProduct
    case squaredL2
    case cosine
}

/// One search hit: the vector id and its distance to the query (smaller is closer).
public struct Neighbor: Sendable, Hashable, CustomStringConvertible {
    public var id: UInt64
    public var distance: Float

    public init(id: UInt64, distance: Float) {
        self.id = id
        self.distance = distance
    }

    /// The total order every result list uses: smaller distance first, then smaller id.
    /// This makes results deterministic when distances tie (duplicates, quantized scores).
    /// NaN distances never reach a result list (see `TopK`), so the order is total there.
    @inline(__always)
    public static func precedes(_ a: Neighbor, _ b: Neighbor) -> Bool {
        a.distance < b.distance || (a.distance == b.distance && a.id < b.id)
    }

    public var description: String { "\(id)@\(distance)" }
}
