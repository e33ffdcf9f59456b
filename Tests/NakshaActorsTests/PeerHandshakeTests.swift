import NakshaWire
import Testing

@testable import NakshaActors

/// The handshake state machine, stepped by hand (no sockets): who proves what, when each
/// side is established, and what a wrong, missing, replayed or reflected proof gets. The
/// golden bytes were computed independently (Python's `hmac` and a hand encoding of the
/// binary codec), so they pin the wire form, not this code's opinion of it.
@Suite struct PeerHandshakeTests {
    static let secret = ClusterSecret(bytes: Array("correct horse battery staple".utf8))
    static let other = ClusterSecret(bytes: Array("a different cluster's token".utf8))
    static let diallerNode = NodeAddress(host: "127.0.0.1", port: 7401)
    static let acceptorNode = NodeAddress(host: "127.0.0.2", port: 7402)
    static let diallerNonce = [UInt8](0..<32)
    static let acceptorNonce = [UInt8](0xA0..<0xC0)

    static func dialler(_ secret: ClusterSecret?, nonce: [UInt8] = diallerNonce) -> PeerHandshake {
        PeerHandshake(role: .dialler, node: diallerNode, incarnation: 0x1234_5678_9abc_def1, nonce: nonce, secret: secret)
    }

    static func acceptor(_ secret: ClusterSecret?, nonce: [UInt8] = acceptorNonce) -> PeerHandshake {
        PeerHandshake(role: .acceptor, node: acceptorNode, incarnation: 7, nonce: nonce, secret: secret)
    }

    /// Runs the four messages between two machines; returns the last steps of each.
    static func run(_ dialler: inout PeerHandshake, _ acceptor: inout PeerHandshake) throws
        -> (dialler: PeerHandshake.Step, acceptor: PeerHandshake.Step, messages: [HandshakeMessage])
    {
        let hello = try #require(dialler.start())
        #expect(acceptor.start() == nil)
        var messages = [hello]
        let acceptorHello = acceptor.receive(hello)
        #expect(acceptorHello.outcome == .pending)
        let helloBack = try #require(acceptorHello.send)
        messages.append(helloBack)
        let diallerProof = dialler.receive(helloBack)
        guard let proof = diallerProof.send, diallerProof.outcome == .pending else { return (diallerProof, acceptorHello, messages) }
        messages.append(proof)
        let acceptorLast = acceptor.receive(proof)
        guard let answer = acceptorLast.send else { return (diallerProof, acceptorLast, messages) }
        messages.append(answer)
        return (dialler.receive(answer), acceptorLast, messages)
    }

    static func hex(_ bytes: [UInt8]) -> String { SHA256Tests.hex(bytes) }

    @Test func nodesWithTheSameSecretAreBothEstablishedAndProofsMatchTheGoldenValues() throws {
        var dialler = Self.dialler(Self.secret)
        var acceptor = Self.acceptor(Self.secret)
        let (last, acceptorLast, messages) = try Self.run(&dialler, &acceptor)
        #expect(messages.count == 4)
        #expect(messages.map(\.proof.isEmpty) == [true, true, false, false])
        guard case .established(let acceptorHello) = last.outcome, case .established(let diallerHello) = acceptorLast.outcome else {
            Issue.record("not established: \(last.outcome), \(acceptorLast.outcome)")
            return
        }
        #expect(acceptorHello.node == Self.acceptorNode && acceptorHello.incarnation == 7)
        #expect(diallerHello.node == Self.diallerNode)
        #expect(Self.hex(messages[2].proof) == "573f08cf7ee26d3080982af1fb2d25e136556599ab27472d817f361187a4d764")
        #expect(Self.hex(messages[3].proof) == "1b2203a65f3f266f2925e48e630eb474c60ed36a25354f18beffb476394c4779")
    }

    @Test func theTranscriptHasTheDocumentedLayout() throws {
        let hello = try #require(Self.dialler(nil).start())
        let transcript = PeerHandshake.transcript(role: .dialler, dialler: hello, acceptor: Self.acceptor(nil).hello(for: hello))
        #expect(
            Self.hex(transcript)
                == "176e616b7368612d6163746f72732f33206469616c6c6572093132372e302e302e31e939f1bdf3d589cf959a1220"
                + "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f093132372e302e302e32ea390720"
                + "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf")
    }

    /// Version 3's hello and proof messages in the binary codec, byte for byte.
    @Test func helloAndProofMessagesHaveTheGoldenBytes() throws {
        var dialler = Self.dialler(Self.secret)
        var acceptor = Self.acceptor(Self.secret)
        let (_, _, messages) = try Self.run(&dialler, &acceptor)
        let prefix = "0d6e616b7368612d6163746f727303093132372e302e302e31d273f1bdf3d589cf959a1220"
            + "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
        #expect(Self.hex(try BinaryEncoder().encode(messages[0])) == prefix + "0000")
        #expect(
            Self.hex(try BinaryEncoder().encode(messages[2]))
                == prefix + "20573f08cf7ee26d3080982af1fb2d25e136556599ab27472d817f361187a4d764" + "00")
    }

    @Test func aDiallerWithAnotherSecretIsRefusedByTheAcceptorAndToldWhy() throws {
        var dialler = Self.dialler(Self.other)
        var acceptor = Self.acceptor(Self.secret)
        let (last, acceptorLast, messages) = try Self.run(&dialler, &acceptor)
        guard case .failed(.badToken, let error) = acceptorLast.outcome else {
            Issue.record("acceptor: \(acceptorLast.outcome)")
            return
        }
        #expect(error.code == .authenticationFailed)
        #expect(error.message.contains("different cluster secret"))
        // The refusal carries no proof: the acceptor computes no MAC for an unproven peer.
        let refusal = try #require(messages.last)
        #expect(refusal.refusal != nil && refusal.proof.isEmpty)
        guard case .failed(.refused, let diallerError) = last.outcome else {
            Issue.record("dialler: \(last.outcome)")
            return
        }
        #expect(diallerError.code == .authenticationFailed)
    }

    @Test func aDiallerWithoutASecretIsRefusedWithAdvice() throws {
        var dialler = Self.dialler(nil)
        var acceptor = Self.acceptor(Self.secret)
        let (_, acceptorLast, _) = try Self.run(&dialler, &acceptor)
        guard case .failed(.badToken, let error) = acceptorLast.outcome else {
            Issue.record("acceptor: \(acceptorLast.outcome)")
            return
        }
        #expect(error.message.contains("NAKSHA_CLUSTER_TOKEN"))
    }

    @Test func anAcceptorWithoutASecretIsRefusedByADiallerThatHasOne() throws {
        var dialler = Self.dialler(Self.secret)
        var acceptor = Self.acceptor(nil)
        let (last, acceptorLast, messages) = try Self.run(&dialler, &acceptor)
        // The acceptor checks nothing, so it thinks it is established; the dialler refuses.
        guard case .established = acceptorLast.outcome else {
            Issue.record("acceptor: \(acceptorLast.outcome)")
            return
        }
        guard case .failed(.badToken, let error) = last.outcome else {
            Issue.record("dialler: \(last.outcome)")
            return
        }
        #expect(error.code == .authenticationFailed)
        #expect(last.send?.refusal != nil)
        #expect(messages.count == 4)
    }

    @Test func aProofReflectedBackToItsSenderIsRefused() throws {
        var dialler = Self.dialler(Self.secret)
        let hello = try #require(dialler.start())
        // A fake acceptor that knows no secret: it echoes the dialler's own proof back.
        var fake = Self.acceptor(nil)
        let fakeHello = try #require(fake.receive(hello).send)
        let proof = try #require(dialler.receive(fakeHello).send)
        var reflected = fakeHello
        reflected.proof = proof.proof
        guard case .failed(.badToken, _) = dialler.receive(reflected).outcome else {
            Issue.record("a reflected proof was accepted")
            return
        }
    }

    @Test func aProofRecordedOnAnotherConnectionIsRefused() throws {
        // Record a good dialler's proof on one connection…
        var dialler = Self.dialler(Self.secret)
        var acceptor = Self.acceptor(Self.secret)
        let (_, _, recorded) = try Self.run(&dialler, &acceptor)
        // …and replay its hello and proof to the same acceptor with a fresh nonce.
        var next = Self.acceptor(Self.secret, nonce: [UInt8](repeating: 0x55, count: 32))
        _ = next.receive(recorded[0])
        guard case .failed(.badToken, _) = next.receive(recorded[2]).outcome else {
            Issue.record("a replayed proof was accepted")
            return
        }
    }

    @Test func anotherVersionOrAShortNonceIsAProtocolRefusal() throws {
        var hello = try #require(Self.dialler(nil).start())
        hello.protocolVersion = 2
        var acceptor = Self.acceptor(nil)
        let step = acceptor.receive(hello)
        guard case .failed(.protocolMismatch, let error) = step.outcome else {
            Issue.record("\(step.outcome)")
            return
        }
        #expect(error.message.contains("version 2; this node speaks 3"))
        #expect(step.send?.refusal == error.message)

        var short = try #require(Self.dialler(nil).start())
        short.nonce = [1, 2, 3]
        var second = Self.acceptor(nil)
        guard case .failed(.protocolMismatch, _) = second.receive(short).outcome else {
            Issue.record("a 3-byte nonce was accepted")
            return
        }
    }

    @Test func theSecretNeverAppearsInDescriptions() {
        let secret = ClusterSecret(bytes: Array("do-not-print-me-ever".utf8))
        #expect("\(secret)" == "<redacted>")
        #expect(String(reflecting: secret).contains("redacted"))
        var dumped = ""
        dump(ActorSystemConfiguration(clusterSecret: secret), to: &dumped)
        #expect(!dumped.contains("do-not-print"))
        #expect(ClusterSecret(token: "  short \n") == nil)
        #expect(ClusterSecret(token: "0123456789abcdef\n") == ClusterSecret(bytes: Array("0123456789abcdef".utf8)))
    }
}

extension PeerHandshake {
    /// The acceptor's hello in answer to `hello` (for building transcripts in tests).
    func hello(for hello: HandshakeMessage) -> HandshakeMessage {
        var copy = self
        return copy.receive(hello).send ?? hello
    }
}
