import Distributed
import NakshaActors
import NakshaRaftStorage
import RaftCore

/// One piece of an `InstallSnapshot` message that is streamed rather than sent whole: the
/// message's header fields, the snapshot's metadata, and `bytes` of its data at `offset`.
///
/// Invariant: a stream's chunks have the same `(streamID, from, term, metadata)`, cover
/// `0..<totalBytes` in order without gaps, and the last one ends at `totalBytes`. A sender
/// numbers its streams upwards; a receiver drops the assembly of an older stream as soon as
/// a newer one starts.
public struct SnapshotChunk: Sendable, Codable, Equatable {
    public var streamID: UInt64
    public var from: UInt64
    public var to: UInt64
    public var term: UInt64
    public var metadata: SnapshotMetadata
    public var offset: UInt64
    public var totalBytes: UInt64
    public var bytes: [UInt8]

    public init(
        streamID: UInt64, from: UInt64, to: UInt64, term: UInt64, metadata: SnapshotMetadata, offset: UInt64, totalBytes: UInt64,
        bytes: [UInt8]
    ) {
        self.streamID = streamID
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
    var streamID: UInt64
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

    /// Chunk `offset` of an `installSnapshot` message, cut when it is sent (the snapshot's
    /// bytes are shared, never copied whole per send).
    static func chunk(of message: RaftMessage, streamID: UInt64, at offset: Int, size: Int) -> SnapshotChunk? {
        guard case .installSnapshot(let snapshot) = message.kind else { return nil }
        let total = snapshot.data.count
        let end = min(offset + size, total)
        return SnapshotChunk(
            streamID: streamID, from: message.from.rawValue, to: message.to.rawValue, term: message.term, metadata: snapshot.metadata,
            offset: UInt64(offset), totalBytes: UInt64(total), bytes: Array(snapshot.data[offset..<end]))
    }

    /// Streams a snapshot to `remote` one chunk at a time (bounding the memory both sides
    /// hold), as stream `n`: a newer stream to the same peer makes this one stop. When it
    /// ends, the core learns whether it finished (`reportSnapshot`), so a transfer that takes
    /// longer than an election timeout is not restarted, and a failed one is retried.
    func streamSnapshot(_ message: RaftMessage, to remote: RaftNode) {
        let peer = message.to
        let streamID = nextSnapshotStreamID
        nextSnapshotStreamID += 1
        outgoingSnapshotStreams[peer] = streamID
        let size = options.snapshotChunkBytes
        let timeout = options.sendTimeout
        guard case .installSnapshot(let snapshot) = message.kind else { return }
        let total = snapshot.data.count
        Task.immediate {
            var offset = 0
            var finished = true
            repeat {
                guard self.outgoingSnapshotStreams[peer] == streamID, let chunk = Self.chunk(of: message, streamID: streamID, at: offset, size: size) else {
                    return  // superseded by a newer stream, which will report
                }
                do {
                    try await NakshaActorSystem.$callTimeout.withValue(timeout) { try await remote.installSnapshotChunk(chunk) }
                } catch {
                    finished = false
                    break
                }
                offset += chunk.bytes.count
            } while offset < total
            self.snapshotStreamEnded(to: peer, streamID: streamID, finished: finished)
        }
    }

    /// A snapshot sent whole in a message batch was delivered (or not).
    func snapshotSent(to peer: ReplicaID, delivered: Bool) {
        guard outgoingSnapshotStreams[peer] == nil else { return }  // a stream is reporting instead
        // withCore throws only nodeStopped: a stopped node has nothing left to report to.
        try? replica.withCore { core throws(RaftError) in core.reportSnapshot(to: peer, finished: delivered) }
        try? processReady()  // a storage error already stopped the node
    }

    private func snapshotStreamEnded(to peer: ReplicaID, streamID: UInt64, finished: Bool) {
        guard outgoingSnapshotStreams[peer] == streamID else { return }
        outgoingSnapshotStreams[peer] = nil
        // withCore throws only nodeStopped: a stopped node has nothing left to report to.
        try? replica.withCore { core throws(RaftError) in core.reportSnapshot(to: peer, finished: finished) }
        try? processReady()  // a storage error already stopped the node
    }

    /// Adds `chunk` to the snapshot being received; returns the whole `installSnapshot`
    /// message after its last chunk. A chunk that does not continue the current stream
    /// starts a new one if it is a first chunk and is dropped otherwise (the leader retries).
    func receive(_ chunk: SnapshotChunk) -> RaftMessage? {
        guard chunk.to == core.id.rawValue, chunk.totalBytes <= Self.maxIncomingSnapshotBytes,
            chunk.offset + UInt64(chunk.bytes.count) <= chunk.totalBytes
        else { return nil }
        if let current = incomingSnapshot, chunk.streamID < current.streamID, chunk.from == current.from {
            return nil  // a chunk of an older stream that a newer one replaced
        }
        if chunk.offset == 0 {
            incomingSnapshot = SnapshotAssembly(
                streamID: chunk.streamID, from: chunk.from, term: chunk.term, metadata: chunk.metadata, totalBytes: chunk.totalBytes, data: [])
            // Reserve for what a first chunk claims, up to a bound: the claim is the peer's.
            incomingSnapshot?.data.reserveCapacity(Int(min(chunk.totalBytes, Self.maxReservedSnapshotBytes)))
        }
        guard var assembly = incomingSnapshot, assembly.streamID == chunk.streamID, assembly.from == chunk.from, assembly.term == chunk.term,
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
