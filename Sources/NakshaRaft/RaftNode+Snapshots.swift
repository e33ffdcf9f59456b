import Distributed
import NakshaActors
import RaftCore

/// One piece of an `InstallSnapshot` message that is streamed rather than sent whole: the
/// message's header fields, the snapshot's metadata, and `bytes` of its data at `offset`.
///
/// Invariant: a stream's chunks have the same `(from, term, metadata)`, cover
/// `0..<totalBytes` in order without gaps, and the last one ends at `totalBytes`.
public struct SnapshotChunk: Sendable, Codable, Equatable {
    public var from: UInt64
    public var to: UInt64
    public var term: UInt64
    public var metadata: SnapshotMetadata
    public var offset: UInt64
    public var totalBytes: UInt64
    public var bytes: [UInt8]

    public init(from: UInt64, to: UInt64, term: UInt64, metadata: SnapshotMetadata, offset: UInt64, totalBytes: UInt64, bytes: [UInt8]) {
        self.from = from
        self.to = to
        self.term = term
        self.metadata = metadata
        self.offset = offset
        self.totalBytes = totalBytes
        self.bytes = bytes
    }

    public var isLast: Bool { offset + UInt64(bytes.count) == totalBytes }
}

/// The receiving side of a chunked snapshot.
struct SnapshotAssembly {
    var from: UInt64
    var term: UInt64
    var metadata: SnapshotMetadata
    var totalBytes: UInt64
    var data: [UInt8]
}

extension RaftNode {
    /// The largest snapshot a node accepts in chunks (a bound on what a peer can make it buffer).
    static let maxIncomingSnapshotBytes: UInt64 = 4 << 30
    /// The most memory reserved up front for an incoming snapshot; a larger one grows as
    /// its chunks arrive.
    static let maxReservedSnapshotBytes: UInt64 = 256 << 20

    /// Splits an `installSnapshot` message into chunks of at most `size` data bytes.
    static func chunks(of message: RaftMessage, size: Int) -> [SnapshotChunk] {
        guard case .installSnapshot(let snapshot) = message.kind else { return [] }
        let total = snapshot.data.count
        var chunks: [SnapshotChunk] = []
        var offset = 0
        repeat {
            let end = min(offset + size, total)
            chunks.append(
                SnapshotChunk(
                    from: message.from.rawValue, to: message.to.rawValue, term: message.term, metadata: snapshot.metadata,
                    offset: UInt64(offset), totalBytes: UInt64(total), bytes: Array(snapshot.data[offset..<end])))
            offset = end
        } while offset < total
        return chunks
    }

    /// Adds `chunk` to the snapshot being received; returns the whole `installSnapshot`
    /// message after its last chunk. A chunk that does not continue the current stream
    /// starts a new one if it is a first chunk and is dropped otherwise (the leader retries).
    func receive(_ chunk: SnapshotChunk) -> RaftMessage? {
        guard chunk.to == core.id.rawValue, chunk.totalBytes <= Self.maxIncomingSnapshotBytes,
            chunk.offset + UInt64(chunk.bytes.count) <= chunk.totalBytes
        else { return nil }
        if chunk.offset == 0 {
            incomingSnapshot = SnapshotAssembly(
                from: chunk.from, term: chunk.term, metadata: chunk.metadata, totalBytes: chunk.totalBytes, data: [])
            // Reserve for what a first chunk claims, up to a bound: the claim is the peer's.
            incomingSnapshot?.data.reserveCapacity(Int(min(chunk.totalBytes, Self.maxReservedSnapshotBytes)))
        }
        guard var assembly = incomingSnapshot, assembly.from == chunk.from, assembly.term == chunk.term,
            assembly.metadata == chunk.metadata, assembly.totalBytes == chunk.totalBytes,
            UInt64(assembly.data.count) == chunk.offset
        else {
            incomingSnapshot = nil
            return nil
        }
        incomingSnapshot = nil  // keep the buffer uniquely referenced while appending
        assembly.data.append(contentsOf: chunk.bytes)
        guard chunk.isLast else {
            incomingSnapshot = assembly
            return nil
        }
        let snapshot = Snapshot(metadata: assembly.metadata, data: assembly.data)
        return RaftMessage(from: ReplicaID(chunk.from), to: ReplicaID(chunk.to), term: chunk.term, kind: .installSnapshot(snapshot))
    }
}
