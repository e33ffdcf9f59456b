import NakshaClusterAPI
import NakshaState
import NakshaStore
import NakshaVector
import NakshaWire

/// One replica of one shard, in a worker's memory: the collection's index kind over local slot
/// numbers, the string ids, the stored payloads, and the highest cold-store sequence applied.
///
/// Invariants: `slotOfID` and `idOfSlot` are inverse and cover exactly the vectors in the
/// index; `appliedSequence` only grows, and a change at or below it is never applied again
/// (so overlapping catch-ups apply each change once, in sequence order).
///
/// Exactly one of `flat`, `hnsw` and `int8` is set; they are optionals (not an enum) so
/// that writes mutate the index in place, never copying it.
struct ShardReplica: Sendable {
    let spec: CollectionSpec
    let shard: Int
    private var flat: FlatIndex?
    private var hnsw: HNSWIndex?
    private var int8: QuantizedFlatIndex?
    private var slotOfID: [String: UInt64] = [:]
    private var idOfSlot: [UInt64: String] = [:]
    private var payloads: [UInt64: String] = [:]
    private var payloadBytes = 0
    private var nextSlot: UInt64 = 1
    private(set) var appliedSequence: Int64 = 0

    /// An empty replica; `int8` trains its quantizer on `trainingSample` (rows of the shard).
    init(spec: CollectionSpec, shard: Int, trainingSample: [Float] = []) throws(VectorError) {
        self.spec = spec
        self.shard = shard
        let metric = Self.distanceMetric(spec.metric)
        switch spec.index {
        case .flat: flat = try FlatIndex(dimension: spec.dimension, metric: metric)
        case .hnsw: hnsw = try HNSWIndex(dimension: spec.dimension, metric: metric, parameters: HNSWParameters(exactScanBelowFraction: 0.05))
        case .int8: int8 = try QuantizedFlatIndex(dimension: spec.dimension, metric: metric, trainingSample: trainingSample)
        }
    }

    static func distanceMetric(_ metric: VectorMetric) -> DistanceMetric {
        switch metric {
        case .cosine: .cosine
        case .ip: .innerProduct
        case .l2: .squaredL2
        }
    }

    var key: ShardKey { ShardKey(collection: spec.name, shard: shard) }
    var count: Int { slotOfID.count }

    /// Bytes held: the index's own accounting plus ids and payloads.
    var memoryBytes: Int {
        let index = flat?.memoryBytes ?? hnsw?.memoryBytes ?? int8?.memoryBytes ?? 0
        return index + payloadBytes + slotOfID.count * 48
    }

    /// Bytes `count` more vectors would add, before they are loaded.
    func estimatedBytes(adding count: Int) -> Int {
        let metric = Self.distanceMetric(spec.metric)
        let index: Int
        switch spec.index {
        case .flat: index = FlatIndex.estimatedBytes(count: count, dimension: spec.dimension, metric: metric)
        case .hnsw: index = HNSWIndex.estimatedBytes(count: count, dimension: spec.dimension, parameters: HNSWParameters())
        case .int8: index = QuantizedFlatIndex.estimatedBytes(count: count, dimension: spec.dimension, metric: metric)
        }
        return index + count * 48
    }

    /// Applies changes of this shard in sequence order; those at or below `appliedSequence`
    /// are skipped. A row the index cannot hold (a wrong dimension written by another tool)
    /// is skipped and returned, so one bad row never blocks the shard.
    mutating func apply(_ changes: some Collection<VectorChange>) -> [(id: String, error: VectorError)] {
        var skipped: [(id: String, error: VectorError)] = []
        for change in changes where change.sequence > appliedSequence {
            if change.isDeleted {
                delete(change.id)
            } else {
                do {
                    try upsert(change.id, change.vector, payloadJSON: change.metadataJSON)
                } catch {
                    skipped.append((change.id, error))
                }
            }
            appliedSequence = change.sequence
        }
        return skipped
    }

    private mutating func upsert(_ id: String, _ vector: [Float], payloadJSON: String?) throws(VectorError) {
        let slot = slotOfID[id] ?? nextSlot
        let metadata = VectorFilter.indexedValues(of: VectorPayload(storedJSON: payloadJSON).metadata).mapValues(MetadataValue.init)
        if flat != nil { try flat?.upsert(id: slot, vector: vector, metadata: metadata) }
        if hnsw != nil { try hnsw?.upsert(id: slot, vector: vector, metadata: metadata) }
        if int8 != nil { try int8?.upsert(id: slot, vector: vector, metadata: metadata) }
        if slotOfID[id] == nil {
            slotOfID[id] = slot
            idOfSlot[slot] = id
            nextSlot += 1
        }
        payloadBytes -= payloads[slot]?.utf8.count ?? 0
        payloads[slot] = payloadJSON
        payloadBytes += payloadJSON?.utf8.count ?? 0
    }

    private mutating func delete(_ id: String) {
        guard let slot = slotOfID.removeValue(forKey: id) else { return }
        _ = flat?.delete(id: slot)
        _ = hnsw?.delete(id: slot)
        _ = int8?.delete(id: slot)
        idOfSlot[slot] = nil
        payloadBytes -= payloads.removeValue(forKey: slot)?.utf8.count ?? 0
    }

    /// Whether a search with `filter` is exact here: a flat index always; HNSW and int8 are
    /// approximate.
    var isExact: Bool { flat != nil }

    /// The `k` nearest matching `filter`, best first, as hits with similarity scores.
    func search(_ query: [Float], k: Int, filter: MetadataFilter?) throws(VectorError) -> [ShardHit] {
        guard count > 0, k > 0 else { return [] }
        let wanted = min(k, count)
        let neighbors: [Neighbor]
        if let flat {
            neighbors = try flat.search(query, k: wanted, filter: filter)
        } else if let hnsw {
            neighbors = try hnsw.search(query, k: wanted, efSearch: max(64, wanted), filter: filter)
        } else if let int8 {
            neighbors = try int8.search(query, k: wanted, filter: filter)
        } else {
            neighbors = []
        }
        return hits(neighbors)
    }

    /// The `k` nearest of each query, in order. Without a filter a flat index answers the whole
    /// batch in one pass of its batched kernel (each block of vectors read once for many
    /// queries); otherwise each query is searched in turn.
    func search(batch queries: [[Float]], k: Int, filter: MetadataFilter?) throws(VectorError) -> [[ShardHit]] {
        guard count > 0, k > 0 else { return queries.map { _ in [] } }
        if let flat, filter == nil, queries.count > 1 {
            var packed: [Float] = []
            packed.reserveCapacity(queries.count * spec.dimension)
            for query in queries {
                guard query.count == spec.dimension else { throw VectorError(code: .dimensionMismatch, message: "a query has \(query.count) components; the index has \(spec.dimension)") }
                packed += query
            }
            return try flat.search(batch: packed, k: min(k, count)).map(hits)
        }
        var answers: [[ShardHit]] = []
        answers.reserveCapacity(queries.count)
        for query in queries { answers.append(try search(query, k: k, filter: filter)) }
        return answers
    }

    private func hits(_ neighbors: [Neighbor]) -> [ShardHit] {
        neighbors.compactMap { neighbor in
            guard let id = idOfSlot[neighbor.id] else { return nil }
            return ShardHit(id: id, score: Self.similarity(neighbor.distance, spec.metric), payloadJSON: payloads[neighbor.id])
        }
    }

    /// Higher is closer: `1 − distance` for cosine, `−distance` otherwise (the inner
    /// product for `ip`, whose distance is its negation; `−squared L2` for `l2`).
    static func similarity(_ distance: Float, _ metric: VectorMetric) -> Double {
        metric == .cosine ? 1 - Double(distance) : -Double(distance)
    }
}

// MARK: - Snapshots

/// A replica saved to the cold store (`naksha_shard_snapshots`) so a move or a restart loads
/// the built HNSW graph instead of rebuilding it, then applies only the later changes.
///
/// Format `naksha-shard-hnsw-v1`: magic `NKSHRD`, the collection's shape (dimension, metric,
/// index), the shard, the applied sequence, the next slot, every live `(slot, id, payload)`,
/// the index (`HNSWIndex.writeSnapshot`), then a CRC-32C of everything before it. Loading
/// checks the checksum first, then the shape against the collection being served, then the
/// index's own structure and that the slots and the index hold the same ids; any mismatch
/// throws `invalidSnapshot` and the caller builds from the vectors instead.
extension ShardReplica {
    static let snapshotFormat = "naksha-shard-hnsw-v1"
    private static let snapshotMagic: [UInt8] = Array("NKSHRD".utf8)

    /// Whether this replica's kind is saved: only HNSW, whose build is the slow part (flat and
    /// int8 load at the speed of reading their vectors).
    var isSnapshotWorthy: Bool { hnsw != nil }

    /// The replica as snapshot bytes (nil for kinds that are not saved).
    func snapshotBytes() -> [UInt8]? {
        guard let hnsw else { return nil }
        var writer = SnapshotWriter(reservingCapacity: hnsw.snapshotByteEstimate + payloadBytes + slotOfID.count * 40 + 256)
        writer.writeRaw(Self.snapshotMagic)
        writer.write(UInt32(spec.dimension))
        writer.write(spec.metric.rawValue)
        writer.write(spec.index.rawValue)
        writer.write(UInt32(shard))
        writer.write(appliedSequence)
        writer.write(nextSlot)
        writer.write(UInt64(idOfSlot.count))
        for slot in idOfSlot.keys.sorted() {
            writer.write(slot)
            writer.write(idOfSlot[slot] ?? "")
            if let payload = payloads[slot] {
                writer.write(UInt8(1))
                writer.write(payload)
            } else {
                writer.write(UInt8(0))
            }
        }
        hnsw.writeSnapshot(to: &writer)
        writer.write(CRC32C.checksum(writer.bytes))  // appended in place: the bytes are not copied
        return writer.bytes
    }

    /// A replica of `spec`'s shard `shard` loaded from snapshot bytes.
    /// - Throws: `invalidSnapshot` (see the extension's contract).
    init(spec: CollectionSpec, shard: Int, snapshot bytes: [UInt8]) throws(VectorError) {
        guard bytes.count >= 4 else { throw SnapshotReader.invalid("\(bytes.count) bytes") }
        let stored = bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: bytes.count - 4, as: UInt32.self)) }
        let computed = CRC32C.checksum(bytes[0..<(bytes.count - 4)])
        guard stored == computed else { throw SnapshotReader.invalid("checksum mismatch (stored \(stored), computed \(computed)): the bytes were damaged") }
        let decoded: Result<ShardReplica, VectorError> = bytes.withUnsafeBytes { buffer in
            var reader = SnapshotReader(UnsafeRawBufferPointer(rebasing: buffer[0..<(bytes.count - 4)]))
            do throws(VectorError) {
                return .success(try Self.decode(&reader, spec: spec, shard: shard))
            } catch {
                return .failure(error)
            }
        }
        self = try decoded.get()
    }

    private static func decode(_ reader: inout SnapshotReader, spec: CollectionSpec, shard: Int) throws(VectorError) -> ShardReplica {
        guard try reader.readRaw(UInt8.self, count: snapshotMagic.count) == snapshotMagic else { throw SnapshotReader.invalid("not a shard snapshot") }
        let dimension = Int(try reader.read(UInt32.self))
        let metric = try reader.readString(maxBytes: 64)
        let index = try reader.readString(maxBytes: 64)
        let savedShard = Int(try reader.read(UInt32.self))
        guard dimension == spec.dimension, metric == spec.metric.rawValue, index == spec.index.rawValue, index == VectorIndexKind.hnsw.rawValue, savedShard == shard else {
            throw SnapshotReader.invalid(
                "saved for shard \(savedShard) of a \(dimension)-dimensional \(metric) \(index) collection; serving shard \(shard) of \(spec.dimension)-dimensional \(spec.metric.rawValue) \(spec.index.rawValue)")
        }
        var replica = try ShardReplica(spec: spec, shard: shard)
        replica.appliedSequence = try reader.read(Int64.self)
        replica.nextSlot = try reader.read(UInt64.self)
        let entries = try reader.read(UInt64.self)
        guard entries <= UInt64(reader.remaining) else { throw SnapshotReader.invalid("\(entries) entries in \(reader.remaining) bytes") }
        for _ in 0..<entries {
            let slot = try reader.read(UInt64.self)
            let id = try reader.readString()
            guard slot < replica.nextSlot, replica.idOfSlot.updateValue(id, forKey: slot) == nil, replica.slotOfID.updateValue(slot, forKey: id) == nil else {
                throw SnapshotReader.invalid("slot \(slot) (id \"\(id)\") is repeated or past the next slot \(replica.nextSlot)")
            }
            if try reader.read(UInt8.self) == 1 {
                let payload = try reader.readString(maxBytes: 64 << 20)
                replica.payloads[slot] = payload
                replica.payloadBytes += payload.utf8.count
            }
        }
        let graph = try HNSWIndex(snapshot: &reader)
        guard reader.remaining == 0 else { throw SnapshotReader.invalid("\(reader.remaining) bytes after the end") }
        guard graph.dimension == spec.dimension, graph.metric == distanceMetric(spec.metric), graph.count == replica.slotOfID.count,
              replica.idOfSlot.keys.allSatisfy(graph.contains)
        else {
            throw SnapshotReader.invalid("the graph holds \(graph.count) vectors but the snapshot lists \(replica.slotOfID.count) ids, or other ones")
        }
        replica.hnsw = graph
        return replica
    }
}
