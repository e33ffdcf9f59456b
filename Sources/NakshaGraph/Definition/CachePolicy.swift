/// Whether a node's output may be reused for identical inputs, and for how long.
///
/// Invariant: `ttlMillis > 0`. The cache key is the node's name and version of the graph plus
/// the value of `key` (or, without `key`, the node's resolved parameters); the worker owns
/// the cache, the planner only carries the policy.
public struct CachePolicy: Sendable, Hashable {
    public let ttlMillis: Int
    public let key: Expression?

    public init(ttlMillis: Int, key: Expression? = nil) {
        precondition(ttlMillis > 0, "CachePolicy.ttlMillis must be positive")
        self.ttlMillis = ttlMillis
        self.key = key
    }
}
