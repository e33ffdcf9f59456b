import NakshaCore
import NakshaGraph

/// One provider key's token bucket (the provider governor), replicated like everything else.
///
/// Integer arithmetic only, driven by the leader's timestamps in the log, so every replica
/// computes the same level: the rate is held in millitokens per second, which is exactly that
/// many microtokens per millisecond, so the level is kept in microtokens (one token is
/// 1,000,000) and a refill over `Δ` ms adds exactly `Δ × rate` with no rounding. The level is
/// stored as of `asOfMillis` and brought up to date lazily, when a lease needs a token.
struct ProviderBucket: Sendable, Hashable, Codable {
    static let microtokensPerToken: UInt64 = 1_000_000
    static let maxTokensPerSecond: Double = 1_000_000
    static let maxBurst = 1_000_000

    var provider: String
    /// The refill rate in millitokens per second; nil: no rate limit (only a throttle).
    var milliTokensPerSecond: UInt64?
    /// The most tokens the bucket holds (0 without a rate limit).
    var burst: Int
    var levelMicrotokens: UInt64
    var asOfMillis: UInt64
    /// No task of this provider is leased before this leader time (0: open).
    var closedUntilMillis: UInt64

    var capacityMicrotokens: UInt64 { UInt64(burst) * Self.microtokensPerToken }

    /// The bucket brought up to `now`: refilled by the elapsed leader time, capped at `burst`.
    func refilled(at now: UInt64) -> ProviderBucket {
        guard let rate = milliTokensPerSecond, now > asOfMillis else { return self }
        var bucket = self
        let (added, overflow) = (now - asOfMillis).multipliedReportingOverflow(by: rate)
        let (sum, overflowSum) = levelMicrotokens.addingReportingOverflow(added)
        bucket.levelMicrotokens = overflow || overflowSum ? capacityMicrotokens : min(capacityMicrotokens, sum)
        bucket.asOfMillis = now
        return bucket
    }

    /// Takes one token at `now` if the bucket is open and holds one.
    mutating func take(at now: UInt64) -> Bool {
        guard now >= closedUntilMillis else { return false }
        guard milliTokensPerSecond != nil else { return true }
        self = refilled(at: now)
        guard levelMicrotokens >= Self.microtokensPerToken else { return false }
        levelMicrotokens -= Self.microtokensPerToken
        return true
    }
}

/// What the provider governor holds for one provider key (`ClusterState.providerStatus`).
public struct ProviderStatus: Sendable, Hashable {
    public var provider: String
    /// The refill rate; nil when the provider has no rate limit (only a throttle).
    public var tokensPerSecond: Double?
    public var burst: Int?
    /// Whole tokens available at the time asked about (nil without a rate limit).
    public var availableTokens: Int?
    /// The leader time the provider is closed until, when that is later than the time asked about.
    public var closedUntilMillis: UInt64?
}

extension ClusterState {
    /// The provider key a node is governed by, or nil for nodes that call no provider:
    /// - the node's string parameter `provider` when it has one (for example
    ///   `openai:text-embedding-3-small`), so graphs can share one account's bucket;
    /// - otherwise, for `embed` and `llm.chat` nodes, `<type>:<model>` with the string
    ///   parameter `model` (`llm.chat:gpt-4o-mini`), or `<type>:default` without one;
    /// - nil for every other node type.
    public static func providerKey(of node: NodeDefinition) -> String? {
        if case .string(let provider)? = node.params["provider"], !provider.isEmpty { return provider }
        switch node.kind {
        case .embed, .llmChat:
            if case .string(let model)? = node.params["model"], !model.isEmpty { return "\(node.kind.rawValue):\(model)" }
            return "\(node.kind.rawValue):default"
        case .vectorQuery, .vectorUpsert, .http, .template, .transform, .subgraph, .testSleep, .testFail:
            return nil
        }
    }

    /// The provider key of a task of a job (nil when its node calls no provider).
    func providerKey(of task: TaskRecord, in job: JobRecord) -> String? {
        guard let node = graphRecord(job.graph)?.definition.nodes[task.node] else { return nil }
        return Self.providerKey(of: node)
    }

    mutating func setKeyConcurrency(_ key: String, _ maxLeased: Int?) -> ClusterResult {
        guard !key.isEmpty else { return .failure(ClusterError(.invalidCommand, "a fairness key must not be empty")) }
        if let maxLeased {
            guard maxLeased >= 1 else { return .failure(ClusterError(.invalidCommand, "a concurrency limit must be at least 1 (or none)")) }
            keyConcurrency[key] = maxLeased
        } else {
            keyConcurrency[key] = nil
        }
        return .success(.keyConcurrencySet(key: key, maxLeasedTasks: maxLeased))
    }

    mutating func setProviderRate(_ provider: String, tokensPerSecond: Double, burst: Int, context: CommandContext) -> ClusterResult {
        guard !provider.isEmpty else { return .failure(ClusterError(.invalidCommand, "a provider key must not be empty")) }
        let now = context.timestampMillis
        if tokensPerSecond == .infinity {
            if var bucket = providers[provider] {
                bucket.milliTokensPerSecond = nil
                bucket.burst = 0
                bucket.levelMicrotokens = 0
                bucket.asOfMillis = now
                providers[provider] = bucket.closedUntilMillis > now ? bucket : nil
            }
            return .success(.providerRateSet(provider: provider, tokensPerSecond: nil, burst: nil))
        }
        guard tokensPerSecond >= 0.001, tokensPerSecond <= ProviderBucket.maxTokensPerSecond, (1...ProviderBucket.maxBurst).contains(burst) else {
            return .failure(
                ClusterError(
                    .invalidCommand,
                    "a provider rate needs 0.001 ≤ tokensPerSecond ≤ \(Int(ProviderBucket.maxTokensPerSecond)) (or infinity for none)"
                        + " and 1 ≤ burst ≤ \(ProviderBucket.maxBurst)"))
        }
        let rate = UInt64((tokensPerSecond * 1000).rounded())
        var bucket: ProviderBucket
        if let existing = providers[provider] {
            // Credit the time so far at the old rate, then switch.
            bucket = existing.milliTokensPerSecond == nil ? existing : existing.refilled(at: now)
            if existing.milliTokensPerSecond == nil { bucket.levelMicrotokens = UInt64(burst) * ProviderBucket.microtokensPerToken }
        } else {
            // A new bucket starts full.
            bucket = ProviderBucket(
                provider: provider, milliTokensPerSecond: nil, burst: burst,
                levelMicrotokens: UInt64(burst) * ProviderBucket.microtokensPerToken, asOfMillis: now, closedUntilMillis: 0)
        }
        bucket.milliTokensPerSecond = rate
        bucket.burst = burst
        bucket.asOfMillis = max(bucket.asOfMillis, now)
        bucket.levelMicrotokens = min(bucket.levelMicrotokens, bucket.capacityMicrotokens)
        providers[provider] = bucket
        return .success(.providerRateSet(provider: provider, tokensPerSecond: Double(rate) / 1000, burst: burst))
    }

    mutating func throttleProvider(_ provider: String, untilMillis: UInt64, context: CommandContext) -> ClusterResult {
        guard !provider.isEmpty else { return .failure(ClusterError(.invalidCommand, "a provider key must not be empty")) }
        let now = context.timestampMillis
        pruneProviders(now: now)
        var bucket =
            providers[provider]
            ?? ProviderBucket(provider: provider, milliTokensPerSecond: nil, burst: 0, levelMicrotokens: 0, asOfMillis: now, closedUntilMillis: 0)
        bucket.closedUntilMillis = max(bucket.closedUntilMillis, untilMillis)
        if bucket.milliTokensPerSecond != nil || bucket.closedUntilMillis > now { providers[provider] = bucket }
        return .success(.providerThrottled(provider: provider, untilMillis: bucket.closedUntilMillis))
    }

    /// Forgets buckets that only held a throttle that has passed (keeps the state bounded).
    mutating func pruneProviders(now: UInt64) {
        guard !providers.isEmpty else { return }
        for key in providers.keys.sorted() {
            if let bucket = providers[key], bucket.milliTokensPerSecond == nil, bucket.closedUntilMillis <= now { providers[key] = nil }
        }
    }

    func leasedCountsByKey() -> [String: Int] {
        var counts: [String: Int] = [:]
        for id in leasedTasks {
            if let key = jobs[id.job]?.resolvedFairnessKey { counts[key, default: 0] += 1 }
        }
        return counts
    }
}
