/// Memory accounting for every index kind: what an index holds now (`memoryBytes`,
/// `bytesPerVector`) and what it would hold before it is built (`estimatedBytes`), so the
/// shard service can refuse a shard beyond a worker's budget.
///
/// Both count the payload arrays at their capacity and the id dictionary at Swift's
/// `Dictionary` layout (keys and values stored at ≤ 3/4 load, one metadata bit per bucket),
/// not allocator headers; metadata columns are counted by `MetadataTable.estimatedBytes`
/// in `memoryBytes` and excluded from estimates (their size depends on the user's keys).
public enum IndexMemory {
    /// Bytes per entry of a `[UInt64: V]` with `V` of `valueBytes`, at the worst load 3/4.
    static func dictionaryBytes(entries: Int, valueBytes: Int) -> Int {
        guard entries > 0 else { return 0 }
        var buckets = 1
        while buckets * 3 < entries * 4 { buckets <<= 1 }
        return buckets * (8 + valueBytes) + buckets / 8
    }
}

extension FlatIndex {
    /// Bytes held now (vectors, ids, id dictionary, L2 norms, metadata).
    public var memoryBytes: Int {
        vectors.capacity * 4 + ids.capacity * 8 + squaredNorms.capacity * 4
            + IndexMemory.dictionaryBytes(entries: slotOfID.capacity, valueBytes: 8) + metadata.estimatedBytes
    }

    /// `memoryBytes / count` (0 when empty).
    public var bytesPerVector: Double { count == 0 ? 0 : Double(memoryBytes) / Double(count) }

    /// Bytes a flat index of `count` vectors would hold (without metadata).
    public static func estimatedBytes(count: Int, dimension: Int, metric: DistanceMetric) -> Int {
        let norms = metric == .squaredL2 ? 4 : 0
        return count * (dimension * 4 + 8 + norms) + IndexMemory.dictionaryBytes(entries: count, valueBytes: 8)
    }
}

extension QuantizedFlatIndex {
    /// Bytes held now: the exact index used for rescoring plus one byte per component.
    public var memoryBytes: Int {
        exact.memoryBytes + codes.capacity + 8 * dimension
    }

    public var bytesPerVector: Double { count == 0 ? 0 : Double(memoryBytes) / Double(count) }

    /// Bytes a quantized index of `count` vectors would hold (without metadata).
    public static func estimatedBytes(count: Int, dimension: Int, metric: DistanceMetric) -> Int {
        FlatIndex.estimatedBytes(count: count, dimension: dimension, metric: metric) + count * dimension + 8 * dimension
    }
}

extension HNSWIndex {
    /// Bytes held now: vectors, the walk's 8-bit codes, layer-0 links, upper-layer links,
    /// ids, flags, the id dictionary, the build scratch and metadata. Tombstoned nodes
    /// still count.
    public var memoryBytes: Int {
        var upper = upperLinks.capacity * 8
        for list in upperLinks where !list.isEmpty { upper += 32 + list.capacity * 4 }
        return vectors.capacity * 4 + codes.capacity + (walkQuantizer == nil ? 0 : 8 * dimension)
            + links0.capacity * 4 + upper + ids.capacity * 8
            + deleted.capacity + levels.capacity
            + IndexMemory.dictionaryBytes(entries: nodeOfID.capacity, valueBytes: 4)
            + buildScratch.memoryBytes + metadata.estimatedBytes
    }

    /// `memoryBytes / count` of live vectors (0 when empty).
    public var bytesPerVector: Double { count == 0 ? 0 : Double(memoryBytes) / Double(count) }

    /// Bytes an HNSW index of `count` vectors would hold (without metadata), using the
    /// expected number of upper layers per node, 1/(m − 1), that a fraction 1/m of
    /// nodes has any, the build scratch's visited mark (2 bytes per node) and the walk's
    /// codes (`dimension` bytes per node).
    public static func estimatedBytes(count: Int, dimension: Int, parameters: HNSWParameters) -> Int {
        let m = Double(parameters.m)
        let perNode = Double(dimension * 5 + (2 * parameters.m + 1) * 4 + 8 + 1 + 1 + 8 + 2)
            + (1 / (m - 1)) * (m + 1) * 4 + 32 / m
        return Int(perNode * Double(count)) + IndexMemory.dictionaryBytes(entries: count, valueBytes: 4)
    }
}
