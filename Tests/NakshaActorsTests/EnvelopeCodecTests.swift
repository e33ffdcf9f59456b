import NakshaWire
import Testing

@testable import NakshaActors

/// The hand-written call and reply envelopes: exact round trips, and a typed error — never a
/// trap — for every malformed input.
@Suite struct EnvelopeCodecTests {
    static let call = CallEnvelope(
        recipient: NakshaActorID(node: NodeAddress(host: "nœud-1.example", port: 7401), incarnation: .max, path: "/raft"),
        target: "$s10NakshaRaft0B4NodeC7deliveryySays5UInt8VGYaKFTE",
        arguments: [[], [1, 2, 3], [UInt8](repeating: 0xAB, count: 300)],
        timeoutMillis: 1_500
    )

    static let replies: [ReplyEnvelope] = [
        .value([]),
        .value([0, 1, 2, 255]),
        .codableError(typeName: "NakshaRaft.RaftError", payload: [9, 8, 7], description: "not the leader"),
        .failure(RemoteCallError(.deadlineExceeded, "too slow")),
        .failure(RemoteCallError(.remoteError, "boom", remoteTypeName: "Swift.DecodingError")),
    ]

    @Test func callEnvelopesRoundTrip() throws {
        #expect(try CallEnvelope(decoding: Self.call.encoded()) == Self.call)
        let bare = CallEnvelope(
            recipient: NakshaActorID(node: NodeAddress(host: "", port: 0), incarnation: 0, path: ""),
            target: "", arguments: [], timeoutMillis: 0)
        #expect(try CallEnvelope(decoding: bare.encoded()) == bare)
    }

    @Test(arguments: replies) func replyEnvelopesRoundTrip(reply: ReplyEnvelope) throws {
        #expect(try ReplyEnvelope(decoding: reply.encoded()) == reply)
    }

    @Test func everyTruncatedCallEnvelopeIsRejected() {
        let bytes = Self.call.encoded()
        for length in 0..<bytes.count {
            #expect(throws: WireError.self, "prefix of \(length) bytes") {
                try CallEnvelope(decoding: Array(bytes[..<length]))
            }
        }
    }

    @Test func everyTruncatedErrorReplyIsRejected() {
        for reply in Self.replies {
            // A value reply is every byte after its tag, so its prefixes are shorter values.
            if case .value = reply { continue }
            let bytes = reply.encoded()
            for length in 0..<bytes.count {
                #expect(throws: WireError.self) { try ReplyEnvelope(decoding: Array(bytes[..<length])) }
            }
        }
    }

    @Test func malformedEnvelopesGiveTypedErrors() {
        // A declared length beyond the bytes that remain.
        expectCode(.collectionTooLarge) { try CallEnvelope(decoding: [0xFF, 0x7F]) }
        // An argument count far beyond the frame.
        var writer = WireWriter(capacity: 16)
        writer.string("h"); writer.varint(1); writer.varint(1); writer.string("/p"); writer.string("t"); writer.varint(1)
        writer.varint(1 << 40)
        expectCode(.collectionTooLarge) { try CallEnvelope(decoding: writer.bytes) }
        // A port that is not a TCP port.
        var badPort = WireWriter(capacity: 16)
        badPort.string("h"); badPort.varint(70_000)
        expectCode(.valueOutOfRange) { try CallEnvelope(decoding: badPort.bytes) }
        // Bytes after a complete envelope.
        expectCode(.trailingBytes) { try CallEnvelope(decoding: Self.call.encoded() + [0]) }
        // A host that is not UTF-8.
        expectCode(.invalidUTF8) { try CallEnvelope(decoding: [2, 0xC3, 0x28]) }
        // A varint that never ends.
        expectCode(.truncated) { try CallEnvelope(decoding: [0x80, 0x80]) }
        // Reply tags and presence bytes other than the defined ones.
        expectCode(.typeMismatch) { try ReplyEnvelope(decoding: [7]) }
        expectCode(.truncated) { try ReplyEnvelope(decoding: []) }
        var presence = WireWriter(capacity: 16)
        presence.byte(2); presence.string("cancelled"); presence.string("m"); presence.byte(2)
        expectCode(.typeMismatch) { try ReplyEnvelope(decoding: presence.bytes) }
    }

    @Test func aFailureCodeThisBuildDoesNotKnowIsARemoteError() throws {
        var writer = WireWriter(capacity: 32)
        writer.byte(2); writer.string("invented-by-the-peer"); writer.string("message"); writer.byte(0)
        let reply = try ReplyEnvelope(decoding: writer.bytes)
        #expect(reply == .failure(RemoteCallError(.remoteError, "message")))
        // Every code this build has survives the trip as itself.
        for code in RemoteCallError.Code.all {
            let failure = ReplyEnvelope.failure(RemoteCallError(code, "x"))
            #expect(try ReplyEnvelope(decoding: failure.encoded()) == failure)
        }
    }

    @Test func aMalformedCallEnvelopeFailsThatCallAndKeepsTheConnection() async throws {
        try await withSystems(1) { systems in
            let raw = try await RawClient.connect(to: systems[0].address)
            try await raw.send(rawHandshakeFrames(incarnation: 5))
            try await raw.send(FrameEncoder().encode(Frame(kind: .call, streamID: 41, payload: [0xFF, 0xFF, 0x03])))
            func frames() throws -> [Frame] {
                var decoder = FrameDecoder()
                decoder.append(raw.received)
                var frames: [Frame] = []
                while let frame = try decoder.nextFrame() { frames.append(frame) }
                return frames
            }
            #expect(try await waitUntil { try frames().contains { $0.kind == .reply } })
            let reply = try #require(try frames().first { $0.kind == .reply })
            #expect(reply.streamID == 41)
            guard case .failure(let error) = try ReplyEnvelope(decoding: reply.payload) else {
                Issue.record("expected a failure reply")
                return
            }
            #expect(error.code == .serializationFailed)
            // The connection is still up: a well-formed call on it is answered.
            let diagnostics = NodeDiagnostics.wellKnown(on: systems[0])
            let call = CallEnvelope(
                recipient: diagnostics.id, target: "$s12NakshaActors15NodeDiagnosticsC4echoySays5UInt8VGAGYaKFTE",
                arguments: [try BinaryEncoder().encode([UInt8]([5, 6]))], timeoutMillis: 5_000)
            try await raw.send(FrameEncoder().encode(Frame(kind: .call, streamID: 42, payload: call.encoded())))
            #expect(try await waitUntil { try frames().contains { $0.kind == .reply && $0.streamID == 42 } })
            let echoed = try #require(try frames().first { $0.streamID == 42 })
            #expect(try ReplyEnvelope(decoding: echoed.payload) == .value(try BinaryEncoder().encode([UInt8]([5, 6]))))
            _ = diagnostics
        }
    }

    private func expectCode(_ code: WireError.Code, _ body: () throws -> Any, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try body()
            Issue.record("expected \(code), decoded a value", sourceLocation: sourceLocation)
        } catch let error as WireError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected a WireError, got \(error)", sourceLocation: sourceLocation)
        }
    }
}
