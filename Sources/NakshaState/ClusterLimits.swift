/// Bounds that keep `ClusterState` small. Part of the replicated state (every replica must
/// enforce the same ones), so they are set when the state is created and travel in snapshots.
public struct ClusterLimits: Sendable, Hashable, Codable {
    /// A task output whose canonical encoding is larger is refused (`outputTooLarge`).
    public var maxTaskOutputBytes: Int
    /// A job whose state (input, then the values after any step) encodes larger fails (`stateTooLarge`).
    public var maxJobStateBytes: Int
    /// Events kept per job; older ones are dropped (a reader then learns that it missed some).
    public var maxEventsPerJob: Int
    /// How long an idempotency key is remembered after its submit, archived jobs included.
    public var idempotencyTTLMillis: UInt64
    /// The most tasks one `leaseTasks` entry grants.
    public var maxLeaseBatch: Int

    public init(
        maxTaskOutputBytes: Int = 1 << 20, maxJobStateBytes: Int = 16 << 20, maxEventsPerJob: Int = 256,
        idempotencyTTLMillis: UInt64 = 24 * 3_600_000, maxLeaseBatch: Int = 256
    ) {
        precondition(maxTaskOutputBytes > 0 && maxJobStateBytes > 0 && maxEventsPerJob > 0 && maxLeaseBatch > 0, "invalid ClusterLimits")
        self.maxTaskOutputBytes = maxTaskOutputBytes
        self.maxJobStateBytes = maxJobStateBytes
        self.maxEventsPerJob = maxEventsPerJob
        self.idempotencyTTLMillis = idempotencyTTLMillis
        self.maxLeaseBatch = maxLeaseBatch
    }
}

extension ClusterLimits {
    /// The most completions one `completeTasks` entry holds (a constant of the log format,
    /// not a setting: every replica must refuse the same batches).
    public static let maxCompletionsPerEntry = 256
}
