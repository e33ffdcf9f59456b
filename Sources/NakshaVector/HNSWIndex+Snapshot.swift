import NakshaCore

/// Saving a built graph and loading it back, so a replica that moves or restarts is not
/// rebuilt from its vectors (a 200,000 × 384 build takes minutes; a load is a copy).
///
/// Format (version 1, little-endian): magic `NKHNSW`, version, a byte-order mark, the
/// dimension, metric and parameters, the level generator's state, the entry point and
/// maximum level, then the node arrays — vectors, ids, tombstones, levels, layer-0 links,
/// each node's upper-layer links — and the metadata columns. No checksum: the caller
/// wraps the bytes in its own (the shard snapshot's CRC-32C).
///
/// Contract: `try HNSWIndex(snapshot: index.snapshotBytes())` equals `index` in every
/// observable way — the same searches answer the same neighbours, and the same later
/// mutations build the same graph (the level generator continues where it stopped).
/// Loading verifies the structure: every array has the length the header implies, every
/// link names an existing node and no list exceeds its limit, every vector is finite, levels are at most 15, the
/// entry point is a node on the top level, live ids are distinct. Anything else throws
/// `invalidSnapshot` and loads nothing.
extension HNSWIndex {
    static let snapshotMagic: [UInt8] = Array("NKHNSW".utf8)
    static let snapshotVersion: UInt16 = 1
    static let byteOrderMark: UInt32 = 0x0102_0304

    /// The index as bytes (about `memoryBytes`, less the id dictionary and scratch).
    public func snapshotBytes() -> [UInt8] {
        var writer = SnapshotWriter(reservingCapacity: snapshotByteEstimate)
        writeSnapshot(to: &writer)
        return writer.bytes
    }

    /// About how many bytes `writeSnapshot` appends (to reserve them once).
    public var snapshotByteEstimate: Int { vectors.count * 4 + links0.count * 4 + ids.count * 10 + nodeCount * 4 + 256 }

    /// Appends the index to `writer` (so a caller wrapping it copies the bytes once).
    public func writeSnapshot(to writer: inout SnapshotWriter) {
        writer.writeRaw(Self.snapshotMagic)
        writer.write(Self.snapshotVersion)
        writer.write(Self.byteOrderMark)
        writer.write(UInt32(dimension))
        writer.write(metric.rawValue)
        writer.write(UInt32(parameters.m))
        writer.write(UInt32(parameters.efConstruction))
        writer.write(UInt32(parameters.efSearch))
        writer.write(parameters.seed)
        writer.write(UInt8(parameters.exactScanBelowFraction == nil ? 0 : 1))
        writer.write(parameters.exactScanBelowFraction ?? 0)
        writer.write(rng.state)
        writer.write(entryPoint ?? UInt32.max)
        writer.write(UInt32(maxLevel))
        writer.write(UInt64(ids.count))
        writer.writeRaw(vectors)
        writer.writeRaw(ids)
        writer.writeRaw(deleted.map { $0 ? UInt8(1) : 0 })
        writer.writeRaw(levels)
        writer.writeRaw(links0)
        for links in upperLinks where !links.isEmpty { writer.writeRaw(links) }
        writer.write(UInt32(metadata.keys.count))
        for (c, key) in metadata.keys.enumerated() {
            writer.write(key)
            for value in metadata.columns[c] { Self.write(value, to: &writer) }
        }
    }

    /// Loads an index saved by `snapshotBytes()`.
    /// - Throws: `invalidSnapshot` when the bytes are not a valid version-1 snapshot (see the
    ///   extension's contract for what is checked); `invalidParameter` for saved parameters
    ///   out of range.
    public init(snapshot bytes: [UInt8]) throws(VectorError) {
        let loaded: Result<HNSWIndex, VectorError> = bytes.withUnsafeBytes { buffer in
            var reader = SnapshotReader(buffer)
            do throws(VectorError) {
                let index = try HNSWIndex(snapshot: &reader)
                guard reader.remaining == 0 else { throw SnapshotReader.invalid("\(reader.remaining) bytes after the end") }
                return .success(index)
            } catch {
                return .failure(error)
            }
        }
        self = try loaded.get()
    }

    /// Reads an index written by `writeSnapshot` from `reader`, leaving it after the index.
    public init(snapshot reader: inout SnapshotReader) throws(VectorError) {
        self = try Self.load(&reader)
    }

    private static func load(_ reader: inout SnapshotReader) throws(VectorError) -> HNSWIndex {
        guard try reader.readRaw(UInt8.self, count: snapshotMagic.count) == snapshotMagic else {
            throw SnapshotReader.invalid("not an HNSW snapshot (bad magic)")
        }
        let version = try reader.read(UInt16.self)
        guard version == snapshotVersion else { throw SnapshotReader.invalid("format version \(version); this build reads \(snapshotVersion)") }
        guard try reader.read(UInt32.self) == byteOrderMark else { throw SnapshotReader.invalid("written with another byte order") }
        let dimension = Int(try reader.read(UInt32.self))
        let metricName = try reader.readString(maxBytes: 64)
        guard let metric = DistanceMetric(rawValue: metricName) else { throw SnapshotReader.invalid("unknown metric \"\(metricName)\"") }
        var parameters = HNSWParameters()
        parameters.m = Int(try reader.read(UInt32.self))
        parameters.efConstruction = Int(try reader.read(UInt32.self))
        parameters.efSearch = Int(try reader.read(UInt32.self))
        parameters.seed = try reader.read(UInt64.self)
        let hasFraction = try reader.read(UInt8.self)
        let fraction = try reader.readDouble()
        parameters.exactScanBelowFraction = hasFraction == 0 ? nil : fraction
        var index = try HNSWIndex(dimension: dimension, metric: metric, parameters: parameters)
        index.rng = SeededGenerator(seed: try reader.read(UInt64.self))
        let entry = try reader.read(UInt32.self)
        let maxLevel = Int(try reader.read(UInt32.self))
        let nodeCount64 = try reader.read(UInt64.self)
        guard nodeCount64 < UInt64(UInt32.max) else { throw SnapshotReader.invalid("\(nodeCount64) nodes") }
        let n = Int(nodeCount64)
        let (floats, overflow) = n.multipliedReportingOverflow(by: dimension)
        guard !overflow, floats <= reader.remaining / MemoryLayout<Float>.stride else {
            throw SnapshotReader.invalid("\(n) nodes of dimension \(dimension) do not fit in \(reader.remaining) bytes")
        }
        index.vectors = try reader.readRaw(Float.self, count: floats)
        guard index.vectors.allSatisfy(\.isFinite) else { throw SnapshotReader.invalid("a stored vector has a NaN or infinite component") }
        index.ids = try reader.readRaw(UInt64.self, count: n)
        let deletedBytes = try reader.readRaw(UInt8.self, count: n)
        index.deleted = deletedBytes.map { $0 != 0 }
        index.levels = try reader.readRaw(UInt8.self, count: n)
        index.links0 = try reader.readRaw(UInt32.self, count: n * index.stride0)  // n < 2³², stride0 ≤ 513: no overflow
        index.upperLinks.reserveCapacity(n)
        for level in index.levels {
            guard level <= 15 else { throw SnapshotReader.invalid("a node on level \(level) (the limit is 15)") }
            index.upperLinks.append(level == 0 ? [] : try reader.readRaw(UInt32.self, count: Int(level) * index.strideUpper))
        }
        let keyCount = Int(try reader.read(UInt32.self))
        var keys: [String] = []
        var columns: [[MetadataValue?]] = []
        for _ in 0..<keyCount {
            let key = try reader.readString()
            guard !keys.contains(key) else { throw SnapshotReader.invalid("metadata key \"\(key)\" appears twice") }
            keys.append(key)
            var column: [MetadataValue?] = []
            column.reserveCapacity(n)
            for _ in 0..<n { column.append(try readValue(&reader)) }
            columns.append(column)
        }
        index.metadata = MetadataTable(keys: keys, columns: columns, rowCount: n)
        try index.verifyLinks(count: n)
        if n == 0 {
            guard entry == UInt32.max else { throw SnapshotReader.invalid("an entry point in an empty graph") }
        } else {
            guard entry < UInt32(n), Int(index.levels[Int(entry)]) == maxLevel else {
                throw SnapshotReader.invalid("the entry point \(entry) is not a node on the top level \(maxLevel)")
            }
            index.entryPoint = entry
            index.maxLevel = maxLevel
        }
        index.nodeOfID.reserveCapacity(n)
        for node in 0..<n where !index.deleted[node] {
            guard index.nodeOfID.updateValue(UInt32(node), forKey: index.ids[node]) == nil else {
                throw SnapshotReader.invalid("id \(index.ids[node]) is live on two nodes")
            }
        }
        index.liveCount = index.nodeOfID.count
        index.rebuildWalkCodes()
        return index
    }

    /// Every link list within its limit and every link naming one of the `count` nodes.
    private func verifyLinks(count n: Int) throws(VectorError) {
        let limit = UInt32(n)
        for node in 0..<n {
            let start = node * stride0
            let linkCount = Int(links0[start])
            guard linkCount <= maxLinks0 else { throw SnapshotReader.invalid("node \(node) has \(linkCount) layer-0 links (at most \(maxLinks0))") }
            for i in 0..<linkCount where links0[start + 1 + i] >= limit {
                throw SnapshotReader.invalid("node \(node) links to node \(links0[start + 1 + i]) of \(n)")
            }
            for level in 0..<Int(levels[node]) {
                let upper = level * strideUpper
                let upperCount = Int(upperLinks[node][upper])
                guard upperCount <= parameters.m else { throw SnapshotReader.invalid("node \(node) has \(upperCount) links on level \(level + 1)") }
                for i in 0..<upperCount {
                    let target = upperLinks[node][upper + 1 + i]
                    // A link on level L must name a node that has level L (searches read its links there).
                    guard target < limit, Int(levels[Int(target)]) >= level + 1 else {
                        throw SnapshotReader.invalid("node \(node) links on level \(level + 1) to node \(target), which is not a node of that level")
                    }
                }
            }
        }
    }

    private static func write(_ value: MetadataValue?, to writer: inout SnapshotWriter) {
        switch value {
        case nil: writer.write(UInt8(0))
        case .string(let s)?:
            writer.write(UInt8(1))
            writer.write(s)
        case .int(let i)?:
            writer.write(UInt8(2))
            writer.write(i)
        case .double(let d)?:
            writer.write(UInt8(3))
            writer.write(d)
        case .bool(let b)?:
            writer.write(UInt8(b ? 5 : 4))
        }
    }

    private static func readValue(_ reader: inout SnapshotReader) throws(VectorError) -> MetadataValue? {
        let tag = try reader.read(UInt8.self)
        switch tag {
        case 0: return nil
        case 1: return .string(try reader.readString())
        case 2: return .int(try reader.read(Int64.self))
        case 3: return .double(try reader.readDouble())
        case 4: return .bool(false)
        case 5: return .bool(true)
        default: throw SnapshotReader.invalid("metadata value tag \(tag)")
        }
    }
}
