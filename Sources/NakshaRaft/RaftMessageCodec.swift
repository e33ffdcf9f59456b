import NakshaWire
import RaftCore

/// The peer wire form of a batch of `RaftMessage`s: hand-written, because the generic
/// `Codable` path (keyed containers, enums with payloads, dynamic casts) was a third of a
/// busy leader's CPU. Commands travel as raw blocks; rare shapes (snapshots, membership
/// entries) are nested in the binary codec.
///
/// ```
/// batch   := count, message*                         (all integers LEB128 varints)
/// message := from, to, term, kind u8, body
///   0 preVote lastIndex lastTerm          1 preVoteResponse granted u8
///   2 requestVote lastIndex lastTerm transfer u8
///   3 requestVoteResponse granted u8
///   4 appendEntries prevIndex prevTerm commit count entry*
///   5 appendEntriesResponse success u8 index conflictIndex conflictTerm
///   6 heartbeat commit readSequence       7 heartbeatResponse readSequence
///   8 installSnapshot length bytes(binary codec of Snapshot)
///   9 timeoutNow
/// entry   := term, index, payload u8: 0 empty | 1 command length bytes
///            | 2 membership length bytes(binary codec of the change and the result)
/// ```
///
/// Decoding is total: malformed input is a `WireError`, never a trap.
public enum RaftMessageCodec {
    public static func encode(_ messages: [RaftMessage]) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16 + messages.count * 24)
        Varint.append(UInt64(messages.count), to: &out)
        for message in messages {
            Varint.append(message.from.rawValue, to: &out)
            Varint.append(message.to.rawValue, to: &out)
            Varint.append(message.term, to: &out)
            switch message.kind {
            case .preVote(let lastIndex, let lastTerm):
                out.append(0)
                Varint.append(lastIndex, to: &out)
                Varint.append(lastTerm, to: &out)
            case .preVoteResponse(let granted):
                out.append(1)
                out.append(granted ? 1 : 0)
            case .requestVote(let lastIndex, let lastTerm, let transfer):
                out.append(2)
                Varint.append(lastIndex, to: &out)
                Varint.append(lastTerm, to: &out)
                out.append(transfer ? 1 : 0)
            case .requestVoteResponse(let granted):
                out.append(3)
                out.append(granted ? 1 : 0)
            case .appendEntries(let append):
                out.append(4)
                Varint.append(append.prevLogIndex, to: &out)
                Varint.append(append.prevLogTerm, to: &out)
                Varint.append(append.leaderCommit, to: &out)
                Varint.append(UInt64(append.entries.count), to: &out)
                for entry in append.entries { try encode(entry, into: &out) }
            case .appendEntriesResponse(let response):
                out.append(5)
                out.append(response.success ? 1 : 0)
                Varint.append(response.index, to: &out)
                Varint.append(response.conflictIndex, to: &out)
                Varint.append(response.conflictTerm, to: &out)
            case .heartbeat(let commit, let sequence):
                out.append(6)
                Varint.append(commit, to: &out)
                Varint.append(sequence, to: &out)
            case .heartbeatResponse(let sequence):
                out.append(7)
                Varint.append(sequence, to: &out)
            case .installSnapshot(let snapshot):
                out.append(8)
                appendBlock(try BinaryEncoder().encode(snapshot), to: &out)
            case .timeoutNow:
                out.append(9)
            }
        }
        return out
    }

    private static func encode(_ entry: LogEntry, into out: inout [UInt8]) throws {
        Varint.append(entry.term, to: &out)
        Varint.append(entry.index, to: &out)
        switch entry.payload {
        case .empty:
            out.append(0)
        case .command(let bytes):
            out.append(1)
            appendBlock(bytes, to: &out)
        case .membershipChange(let change, let resulting):
            out.append(2)
            appendBlock(try BinaryEncoder().encode(MembershipEntry(change: change, resulting: resulting)), to: &out)
        }
    }

    @inline(__always) private static func appendBlock(_ bytes: [UInt8], to out: inout [UInt8]) {
        Varint.append(UInt64(bytes.count), to: &out)
        out.append(contentsOf: bytes)
    }

    private struct MembershipEntry: Codable {
        var change: MembershipChange
        var resulting: Membership
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> [RaftMessage] {
        do {
            return try bytes.withUnsafeBytes { buffer in
                var reader = Reader(bytes: buffer)
                let count = try reader.count(minimumBytesEach: 4)  // from, to, term, kind: a byte each at least
                var messages: [RaftMessage] = []
                messages.reserveCapacity(count)
                for _ in 0..<count { messages.append(try reader.message()) }
                guard reader.index == buffer.count else {
                    throw WireError(.trailingBytes, "\(buffer.count - reader.index) bytes after the last Raft message")
                }
                return messages
            }
        } catch let error as WireError {
            throw error
        } catch {
            throw WireError(.typeMismatch, "Raft message batch: \(error)")
        }
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        mutating func varint() throws(WireError) -> UInt64 { try Varint.read(from: bytes, at: &index) }

        mutating func byte() throws(WireError) -> UInt8 {
            guard index < bytes.count else { throw WireError(.truncated, "Raft message ended early") }
            defer { index += 1 }
            return bytes[index]
        }

        mutating func flag() throws(WireError) -> Bool {
            switch try byte() {
            case 0: return false
            case 1: return true
            case let other: throw WireError(.typeMismatch, "Raft message flag \(other) is not 0 or 1")
            }
        }

        /// A count, checked against what is left (each element takes at least `minimumBytesEach`).
        mutating func count(minimumBytesEach: Int) throws(WireError) -> Int {
            let value = try varint()
            guard value <= UInt64((bytes.count - index) / minimumBytesEach) else {
                throw WireError(.truncated, "Raft message count \(value) is more than the input can hold")
            }
            return Int(value)
        }

        mutating func block() throws(WireError) -> [UInt8] {
            let length = try count(minimumBytesEach: 1)
            defer { index += length }
            return Array(bytes[index..<(index + length)])
        }

        mutating func message() throws(WireError) -> RaftMessage {
            let from = ReplicaID(try varint())
            let to = ReplicaID(try varint())
            let term = try varint()
            let kind: RaftMessage.Kind
            switch try byte() {
            case 0: kind = .preVote(lastLogIndex: try varint(), lastLogTerm: try varint())
            case 1: kind = .preVoteResponse(granted: try flag())
            case 2: kind = .requestVote(lastLogIndex: try varint(), lastLogTerm: try varint(), leaderTransfer: try flag())
            case 3: kind = .requestVoteResponse(granted: try flag())
            case 4:
                let prevIndex = try varint()
                let prevTerm = try varint()
                let commit = try varint()
                let count = try self.count(minimumBytesEach: 3)
                var entries: [LogEntry] = []
                entries.reserveCapacity(count)
                for _ in 0..<count { entries.append(try entry()) }
                kind = .appendEntries(AppendEntries(prevLogIndex: prevIndex, prevLogTerm: prevTerm, entries: entries, leaderCommit: commit))
            case 5:
                kind = .appendEntriesResponse(
                    AppendEntriesResponse(success: try flag(), index: try varint(), conflictIndex: try varint(), conflictTerm: try varint()))
            case 6: kind = .heartbeat(commitIndex: try varint(), readSequence: try varint())
            case 7: kind = .heartbeatResponse(readSequence: try varint())
            case 8: kind = .installSnapshot(try BinaryDecoder().decode(Snapshot.self, from: try block()))
            case 9: kind = .timeoutNow
            case let other: throw WireError(.typeMismatch, "unknown Raft message kind \(other)")
            }
            return RaftMessage(from: from, to: to, term: term, kind: kind)
        }

        mutating func entry() throws(WireError) -> LogEntry {
            let term = try varint()
            let index = try varint()
            let payload: LogEntry.Payload
            switch try byte() {
            case 0: payload = .empty
            case 1: payload = .command(try block())
            case 2:
                let decoded = try BinaryDecoder().decode(MembershipEntry.self, from: try block())
                payload = .membershipChange(decoded.change, resulting: decoded.resulting)
            case let other: throw WireError(.typeMismatch, "unknown log entry payload \(other)")
            }
            return LogEntry(term: term, index: index, payload: payload)
        }
    }
}
