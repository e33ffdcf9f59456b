/// Bounds that every decoder enforces before it allocates or recurses.
///
/// Invariant: no allocation made while decoding is larger than `maxFrameBytes`, and no
/// recursion is deeper than `maxNestingDepth`, whatever the input says.
public struct WireLimits: Sendable, Equatable {
    /// The largest payload a frame may carry, before and after decompression (default 16 MiB).
    public var maxFrameBytes: Int
    /// The deepest nesting of containers the binary decoder follows (default 128).
    public var maxNestingDepth: Int
    /// The most elements one collection may declare (default 16 Mi).
    public var maxCollectionCount: Int

    public init(maxFrameBytes: Int = 16 << 20, maxNestingDepth: Int = 128, maxCollectionCount: Int = 16 << 20) {
        precondition(maxFrameBytes > 0 && maxFrameBytes <= Int(UInt32.max), "maxFrameBytes must fit in UInt32")
        precondition(maxNestingDepth > 0, "maxNestingDepth must be positive")
        precondition(maxCollectionCount > 0, "maxCollectionCount must be positive")
        self.maxFrameBytes = maxFrameBytes
        self.maxNestingDepth = maxNestingDepth
        self.maxCollectionCount = maxCollectionCount
    }

    /// The defaults: 16 MiB frames, depth 128, 16 Mi elements.
    public static let `default` = WireLimits()
}
