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
        var out = WireWriter(capacity: 16 + messages.count * 24)
        out.varint(UInt64(messages.count))
        for message in messages {
            out.varint(message.from.rawValue)
            out.varint(message.to.rawValue)
            out.varint(message.term)
            switch message.kind {
            case .preVote(let lastIndex, let lastTerm):
                out.byte(0)
                out.varint(lastIndex)
                out.varint(lastTerm)
            case .preVoteResponse(let granted):
                out.byte(1)
                out.flag(granted)
            case .requestVote(let lastIndex, let lastTerm, let transfer):
                out.byte(2)
                out.varint(lastIndex)
                out.varint(lastTerm)
                out.flag(transfer)
            case .requestVoteResponse(let granted):
                out.byte(3)
                out.flag(granted)
            case .appendEntries(let append):
                out.byte(4)
                out.varint(append.prevLogIndex)
                out.varint(append.prevLogTerm)
                out.varint(append.leaderCommit)
                out.varint(UInt64(append.entries.count))
                for entry in append.entries { try encode(entry, into: &out) }
            case .appendEntriesResponse(let response):
                out.byte(5)
                out.flag(response.success)
                out.varint(response.index)
                out.varint(response.conflictIndex)
                out.varint(response.conflictTerm)
            case .heartbeat(let commit, let sequence):
                out.byte(6)
                out.varint(commit)
                out.varint(sequence)
            case .heartbeatResponse(let sequence):
                out.byte(7)
                out.varint(sequence)
            case .installSnapshot(let snapshot):
                out.byte(8)
                out.block(try BinaryEncoder().encode(snapshot))
            case .timeoutNow:
                out.byte(9)
            }
        }
        return out.bytes
    }

    private static func encode(_ entry: LogEntry, into out: inout WireWriter) throws {
        out.varint(entry.term)
        out.varint(entry.index)
        switch entry.payload {
        case .empty:
            out.byte(0)
        case .command(let bytes):
            out.byte(1)
            out.block(bytes)
        case .membershipChange(let change, let resulting):
            out.byte(2)
            out.block(try BinaryEncoder().encode(MembershipEntry(change: change, resulting: resulting)))
        }
    }

    private struct MembershipEntry: Codable {
        var change: MembershipChange
        var resulting: Membership
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> [RaftMessage] {
        do {
            return try bytes.withUnsafeBytes { buffer in
                var reader = WireReader(buffer, context: "Raft message batch")
                let count = try reader.count(minimumBytesEach: 4)  // from, to, term, kind: a byte each at least
                var messages: [RaftMessage] = []
                messages.reserveCapacity(count)
                for _ in 0..<count { messages.append(try message(from: &reader)) }
                try reader.expectEnd()
                return messages
            }
        } catch let error as WireError {
            throw error
        } catch {
            throw WireError(.typeMismatch, "Raft message batch: \(error)")
        }
    }

    private static func message(from reader: inout WireReader) throws(WireError) -> RaftMessage {
        let from = ReplicaID(try reader.varint())
        let to = ReplicaID(try reader.varint())
        let term = try reader.varint()
        let kind: RaftMessage.Kind
        switch try reader.byte() {
        case 0: kind = .preVote(lastLogIndex: try reader.varint(), lastLogTerm: try reader.varint())
        case 1: kind = .preVoteResponse(granted: try reader.flag())
        case 2: kind = .requestVote(lastLogIndex: try reader.varint(), lastLogTerm: try reader.varint(), leaderTransfer: try reader.flag())
        case 3: kind = .requestVoteResponse(granted: try reader.flag())
        case 4:
            let prevIndex = try reader.varint()
            let prevTerm = try reader.varint()
            let commit = try reader.varint()
            let count = try reader.count(minimumBytesEach: 3)
            var entries: [LogEntry] = []
            entries.reserveCapacity(count)
            for _ in 0..<count { entries.append(try entry(from: &reader)) }
            kind = .appendEntries(AppendEntries(prevLogIndex: prevIndex, prevLogTerm: prevTerm, entries: entries, leaderCommit: commit))
        case 5:
            kind = .appendEntriesResponse(
                AppendEntriesResponse(
                    success: try reader.flag(), index: try reader.varint(), conflictIndex: try reader.varint(),
                    conflictTerm: try reader.varint()))
        case 6: kind = .heartbeat(commitIndex: try reader.varint(), readSequence: try reader.varint())
        case 7: kind = .heartbeatResponse(readSequence: try reader.varint())
        case 8: kind = .installSnapshot(try BinaryDecoder().decode(Snapshot.self, from: try reader.block()))
        case 9: kind = .timeoutNow
        case let other: throw WireError(.typeMismatch, "unknown Raft message kind \(other)")
        }
        return RaftMessage(from: from, to: to, term: term, kind: kind)
    }

    private static func entry(from reader: inout WireReader) throws(WireError) -> LogEntry {
        let term = try reader.varint()
        let index = try reader.varint()
        let payload: LogEntry.Payload
        switch try reader.byte() {
        case 0: payload = .empty
        case 1: payload = .command(try reader.block())
        case 2:
            let decoded = try BinaryDecoder().decode(MembershipEntry.self, from: try reader.block())
            payload = .membershipChange(decoded.change, resulting: decoded.resulting)
        case let other: throw WireError(.typeMismatch, "unknown log entry payload \(other)")
        }
        return LogEntry(term: term, index: index, payload: payload)
    }
}
