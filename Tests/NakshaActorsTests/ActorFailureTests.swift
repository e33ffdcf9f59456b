import Distributed
import NIOCore
import NIOPosix
import NakshaActors
import NakshaWire
import NakshaTestSupport
import Testing

@Suite struct ActorFailureTests {
    @Test func deadlineExpiresAndTheCalleeIsCancelled() async throws {
        try await withSystems(2) { systems in
            let local = NodeDiagnostics.wellKnown(on: systems[0])
            let remote = try NodeDiagnostics.resolve(id: local.id, using: systems[1])
            let started = ContinuousClock.now
            await expectRemoteError(.deadlineExceeded) {
                try await NakshaActorSystem.$callTimeout.withValue(.milliseconds(200)) {
                    try await remote.pause(milliseconds: 20_000)
                }
            }
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(try await waitUntil { try await remote.cancelledPauses() == 1 })
        }
    }

    @Test func cancellingTheCallerCancelsTheCallee() async throws {
        try await withSystems(2) { systems in
            let local = NodeDiagnostics.wellKnown(on: systems[0])
            let remote = try NodeDiagnostics.resolve(id: local.id, using: systems[1])
            let call = Task { try await remote.pause(milliseconds: 20_000) }
            // Wait until the call is running on the callee, then cancel the caller.
            #expect(try await waitUntil { systems[0].inFlightIncomingCalls == 1 })
            call.cancel()
            do {
                _ = try await call.value
                Issue.record("expected cancellation")
            } catch let error as RemoteCallError {
                #expect(error.code == .cancelled)
            }
            #expect(try await waitUntil { try await remote.cancelledPauses() == 1 })
        }
    }

    @Test func validTargetOfAnotherTypeIsRefusedNotExecuted() async throws {
        try await withSystems(2) { systems in
            let diagnostics = NodeDiagnostics.wellKnown(on: systems[0])
            // A Greeter proxy pointing at the NodeDiagnostics actor: `greet` is a valid target,
            // but of the wrong type. Executing it would crash the receiver.
            let confused = try Greeter.resolve(id: diagnostics.id, using: systems[1])
            await expectRemoteError(.targetNotAllowed) { try await confused.greet("mallory") }
            // The receiver is fine and still serves correct calls.
            let remote = try NodeDiagnostics.resolve(id: diagnostics.id, using: systems[1])
            #expect(try await remote.ping().incarnation == systems[0].incarnation)
        }
    }

    @Test func actorTypeThatDidNotOptInIsNotCallableRemotely() async throws {
        try await withSystems(2) { systems in
            let local = LocalOnly(actorSystem: systems[0])
            let remote = try LocalOnly.resolve(id: local.id, using: systems[1])
            await expectRemoteError(.targetNotAllowed) { try await remote.secret() }
        }
    }

    @Test func inFlightCallFailsAtOnceWhenThePeerGoesAway() async throws {
        let server = try await NakshaActorSystem.start()
        let client = try await NakshaActorSystem.start()
        let local = NodeDiagnostics.wellKnown(on: server)
        let remote = try NodeDiagnostics.resolve(id: local.id, using: client)
        let call = Task { try await remote.pause(milliseconds: 20_000) }
        #expect(try await waitUntil { server.inFlightIncomingCalls == 1 })
        let started = ContinuousClock.now
        await server.shutdown()
        do {
            _ = try await call.value
            Issue.record("expected connectionLost")
        } catch let error as RemoteCallError {
            #expect(error.code == .connectionLost)
        }
        #expect(ContinuousClock.now - started < .seconds(2))
        await client.shutdown()
    }

    @Test func downPeerFailsFastAndARestartedPeerIsReachedAgain() async throws {
        let configuration = ActorSystemConfiguration(reconnectBackoffInitial: .milliseconds(500), reconnectBackoffMax: .seconds(1))
        let client = try await NakshaActorSystem.start(configuration)
        let port = try stableLoopbackPort()
        var server = try await NakshaActorSystem.start(ActorSystemConfiguration(port: port))
        var local = NodeDiagnostics.wellKnown(on: server)
        let remote = try NodeDiagnostics.resolve(id: NodeDiagnostics.id(on: server.address), using: client)
        let firstIncarnation = try await remote.ping().incarnation
        await server.shutdown()
        #expect(try await waitUntil { client.openConnections == 0 })
        await expectRemoteError(.peerUnreachable) { try await remote.ping() }
        // Within the backoff window the next call fails at once, without dialling.
        do {
            _ = try await remote.ping()
            Issue.record("expected peerUnreachable")
        } catch let error as RemoteCallError {
            #expect(error.code == .peerUnreachable)
            #expect(error.message.contains("next attempt in"), "\(error)")
        }

        server = try await NakshaActorSystem.start(ActorSystemConfiguration(port: port))
        local = NodeDiagnostics.wellKnown(on: server)
        var identity: NodeDiagnostics.Identity? = nil
        #expect(try await waitUntil {
            identity = try? await remote.ping()
            return identity != nil
        })
        #expect(identity?.incarnation == server.incarnation)
        #expect(identity?.incarnation != firstIncarnation)
        _ = local
        await server.shutdown()
        await client.shutdown()
    }

    @Test func garbageFromARawSocketClosesThatConnectionOnly() async throws {
        try await withSystems(2) { systems in
            let local = NodeDiagnostics.wellKnown(on: systems[0])
            for garbage in [Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), [UInt8](repeating: 0xFF, count: 100)] {
                let raw = try await RawClient.connect(to: systems[0].address)
                try await raw.send(garbage)
                #expect(try await raw.waitForClose(timeout: .seconds(5)))
            }
            // Truncated: half of a valid handshake, then the client hangs up.
            let frame = try FrameEncoder().encode(Frame(kind: .handshake, streamID: 0, payload: [UInt8](repeating: 1, count: 40)))
            let raw = try await RawClient.connect(to: systems[0].address)
            try await raw.send(Array(frame.prefix(30)))
            try await raw.close()
            // The node still serves.
            let remote = try NodeDiagnostics.resolve(id: local.id, using: systems[1])
            #expect(try await remote.echo([9]) == [9])
        }
    }

    @Test func incompatibleHandshakeIsRefusedWithAReason() async throws {
        // A long heartbeat timeout so that only the refusal can close the connection.
        try await withSystems(1, configuration: ActorSystemConfiguration(heartbeatTimeout: .seconds(120))) { systems in
            let raw = try await RawClient.connect(to: systems[0].address)
            try await raw.send(rawHandshakeFrame(version: 99, incarnation: 5))
            #expect(try await raw.waitForClose(timeout: .seconds(5)))
            var decoder = FrameDecoder()
            decoder.append(raw.received)
            let answer = try #require(try decoder.nextFrame())
            let refusal = try BinaryDecoder().decode(RawHandshake.self, from: answer.payload).refusal
            #expect(refusal?.contains("version 99") == true)
        }
    }

    @Test func silentPeerIsDetectedByHeartbeats() async throws {
        let configuration = ActorSystemConfiguration(heartbeatInterval: .milliseconds(100), heartbeatTimeout: .seconds(3))
        try await withSystems(1, configuration: configuration) { systems in
            // A peer that completes the handshake and then never says anything again.
            let raw = try await RawClient.connect(to: systems[0].address)
            // The node reads our handshake (its last read from us) after we send it, so it
            // cannot give up on us sooner than the heartbeat timeout after this instant,
            // however loaded the machine is.
            let sent = ContinuousClock.now
            try await raw.send(rawHandshakeFrames(incarnation: 5))
            // It answers the handshake, then pings, then gives up on us after the timeout.
            #expect(try await waitUntil { raw.received.count >= FrameHeader.size })
            #expect(try await raw.waitForClose(timeout: .seconds(10)))
            #expect(ContinuousClock.now - sent >= .seconds(3))
            // It was pinged while silent.
            var decoder = FrameDecoder()
            decoder.append(raw.received)
            var kinds: [FrameKind] = []
            while let frame = try decoder.nextFrame() { kinds.append(frame.kind) }
            #expect(kinds.first == .handshake)
            #expect(kinds.contains(.ping))
        }
    }

    @Test func shutdownClosesAcceptedConnections() async throws {
        let server = try await NakshaActorSystem.start()
        let raw = try await RawClient.connect(to: server.address)
        await server.shutdown()
        #expect(try await raw.waitForClose(timeout: .seconds(5)))
    }
}
