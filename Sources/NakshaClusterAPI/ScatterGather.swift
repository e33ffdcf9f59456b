import Glibc

/// The router's pure arithmetic: how many results to ask each shard for, how to merge the
/// answers, and which shards to ask again so the merge stays exact.
///
/// Vectors are spread over shards by a hash of their id, independent of where they lie, so
/// of the global top `k` each of `S` shards holds about `Binomial(k, 1/S) ≈ Poisson(k/S)`.
/// For a large `k` the router asks each shard for the Poisson bound `q` (the count a shard
/// exceeds with probability below 10⁻⁶) instead of `k`, as Qdrant does; a shard that filled
/// its `q` and whose last hit would still make the merged cut may hold more of the top `k`,
/// and is asked again for `k` (`shardsToAskAgain`), so the result equals asking every shard
/// for `k`.
public enum ScatterGather {
    /// The tail probability the bound allows per shard.
    static let tail = 1e-6

    /// How many results to ask each of `shards` shards for when the query wants `k`: `k` for
    /// one shard or a small `k`, else the Poisson bound (at least 1, at most `k`).
    public static func perShardK(k: Int, shards: Int) -> Int {
        guard shards > 1, k > 1 else { return max(k, 0) }
        let lambda = Double(k) / Double(shards)
        // Walk the Poisson CDF in log space until the tail is below `tail`.
        var logTerm = -lambda  // log P(X = 0)
        var cumulative = exp(logTerm)
        var count = 0
        while 1 - cumulative > tail && count < k {
            count += 1
            logTerm += log(lambda) - log(Double(count))
            cumulative += exp(logTerm)
        }
        return max(1, min(k, count))
    }

    /// The best `k` of the shards' answers (each best first): descending score, ties by id,
    /// one hit per id (a vector is in one shard, but a stale replica may answer for a moved
    /// id; the better score wins).
    public static func merge(_ answers: [[ShardHit]], k: Int) -> [ShardHit] {
        guard k > 0 else { return [] }
        var best: [String: ShardHit] = [:]
        for hits in answers {
            for hit in hits where !hit.score.isNaN {
                if let seen = best[hit.id], !precedes(hit, seen) { continue }
                best[hit.id] = hit
            }
        }
        return Array(best.values.sorted(by: precedes).prefix(k))
    }

    /// Result order: higher score first, then the smaller id.
    public static func precedes(_ a: ShardHit, _ b: ShardHit) -> Bool {
        a.score != b.score ? a.score > b.score : a.id < b.id
    }

    /// The positions of answers that were cut short by asking for `asked < k` and whose last
    /// hit is not worse than the merged `k`-th: they may hold more of the top `k`.
    public static func shardsToAskAgain(_ answers: [[ShardHit]?], asked: Int, k: Int) -> [Int] {
        guard asked < k else { return [] }
        let merged = merge(answers.compactMap { $0 }, k: k)
        return answers.indices.filter { position in
            guard let hits = answers[position], hits.count >= asked, let last = hits.last else { return false }
            guard merged.count == k, let cut = merged.last else { return true }
            return !precedes(cut, last)
        }
    }

    // MARK: Hedging

    /// The least a router waits for one replica before also asking the next.
    public static let minimumHedgeDelay: Duration = .milliseconds(250)

    /// How long to wait for a replica before asking the next one as well (a hedged request):
    /// four times the shard's typical answer time, at least `minimumHedgeDelay` (so a busy
    /// cluster is not doubled by hedges), at most half of what remains of the deadline (so a
    /// replica that hangs — stopped, partitioned, swapping — still leaves the next one time
    /// to answer). `typicalSeconds` nil: no answer seen yet.
    public static func hedgeDelay(typicalSeconds: Double?, remaining: Duration) -> Duration {
        let typical = Duration.seconds(max(0, typicalSeconds ?? 0))
        return min(max(minimumHedgeDelay, typical * 4), remaining / 2)
    }

    /// The moving average of a shard's answer time after one more answer took `seconds`.
    public static func typicalSeconds(previous: Double?, answered seconds: Double) -> Double {
        guard let previous else { return seconds }
        return previous * 0.8 + seconds * 0.2
    }
}
