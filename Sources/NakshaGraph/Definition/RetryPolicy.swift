/// How often a failed node is tried again and how long to wait in between.
///
/// Invariants: `maxAttempts >= 1` (1 means no retry); `0 <= initialDelayMillis <= maxDelayMillis`.
public struct RetryPolicy: Sendable, Hashable, Codable {
    /// The shape of the wait between attempts.
    public enum Backoff: String, Sendable, Hashable, Codable, CaseIterable {
        /// Retry immediately.
        case none
        /// Wait `initialDelayMillis` every time.
        case fixed
        /// Wait `initialDelayMillis · 2^(attempt-1)`, capped at `maxDelayMillis`.
        case exponential
    }

    public let maxAttempts: Int
    public let backoff: Backoff
    public let initialDelayMillis: Int
    public let maxDelayMillis: Int

    public init(maxAttempts: Int, backoff: Backoff = .exponential, initialDelayMillis: Int = 1_000, maxDelayMillis: Int = 60_000) {
        precondition(maxAttempts >= 1 && initialDelayMillis >= 0 && maxDelayMillis >= initialDelayMillis, "invalid RetryPolicy")
        self.maxAttempts = maxAttempts
        self.backoff = backoff
        self.initialDelayMillis = initialDelayMillis
        self.maxDelayMillis = maxDelayMillis
    }

    /// No retries: a node fails its job on its first failure.
    public static let none = RetryPolicy(maxAttempts: 1, backoff: .none, initialDelayMillis: 0, maxDelayMillis: 0)

    /// The wait before attempt `failedAttempt + 1`, given that attempt `failedAttempt`
    /// (1-based) just failed. Never overflows: the doubling stops at the cap.
    public func delayMillis(afterFailedAttempt failedAttempt: Int) -> Int {
        switch backoff {
        case .none: return 0
        case .fixed: return initialDelayMillis
        case .exponential:
            var delay = initialDelayMillis
            var remaining = max(0, failedAttempt - 1)
            while remaining > 0, delay < maxDelayMillis {
                delay = delay > maxDelayMillis / 2 ? maxDelayMillis : delay * 2
                remaining -= 1
            }
            return min(delay, maxDelayMillis)
        }
    }
}
