import NakshaCore
import NakshaGraph

/// Outputs of nodes with a `cache:` policy, kept in this worker's memory until their TTL
/// passes. Bounded: past `capacity` entries the soonest to expire are dropped first.
actor NodeOutputCache {
    let capacity: Int
    private var entries: [String: (expires: ContinuousClock.Instant, output: [String: GraphValue])] = [:]

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// The cache key of a node run: graph version, node, and the policy's `key` value (else
    /// the job's state and the fan-out item).
    static func key(policy: CachePolicy, context: NodeContext) throws(NodeFailure) -> String {
        let prefix = "\(context.graph.name)@\(context.graph.version)/\(context.node.name)/"
        guard let expression = policy.key else {
            // The whole state can be large: keyed by its digest.
            return prefix + SHA256.hexDigest(Array((GraphValue.map(context.state).jsonText + "|" + (context.item?.jsonText ?? "")).utf8))
        }
        do {
            return prefix + (try expression.evaluate(state: context.state, item: context.item)).jsonText
        } catch {
            throw NodeFailure(.expression, "cache key of node \"\(context.node.name)\": \(error)")
        }
    }

    func output(for key: String) -> [String: GraphValue]? {
        guard let entry = entries[key] else { return nil }
        guard entry.expires > .now else {
            entries[key] = nil
            return nil
        }
        return entry.output
    }

    func store(_ output: [String: GraphValue], for key: String, ttlMillis: Int) {
        if entries.count >= capacity {
            let now = ContinuousClock.now
            entries = entries.filter { $0.value.expires > now }
            if entries.count >= capacity, let soonest = entries.min(by: { $0.value.expires < $1.value.expires })?.key { entries[soonest] = nil }
        }
        entries[key] = (.now + .milliseconds(ttlMillis), output)
    }
}
