import MetricsTestKit
import NakshaActors
import Testing

/// The cluster secret over real loopback TCP: nodes that share it call each other; a node
/// with another secret, or none, is refused at the handshake whichever side dials, the
/// refusing node counts `naksha_actor_handshake_failures_total{reason="bad_token"}`, and the
/// refused dialler gets `authenticationFailed`.
@Suite struct ClusterTokenTests {
    static let secret = ClusterSecret(bytes: Array("this cluster's shared token".utf8))
    static let otherSecret = ClusterSecret(bytes: Array("another cluster's shared token".utf8))

    struct Node {
        let system: NakshaActorSystem
        let metrics: TestMetrics
        let diagnostics: NodeDiagnostics

        static func start(_ secret: ClusterSecret?) async throws -> Node {
            let metrics = TestMetrics()
            let system = try await NakshaActorSystem.start(ActorSystemConfiguration(
                heartbeatTimeout: .seconds(120), metricsFactory: metrics, clusterSecret: secret))
            return Node(system: system, metrics: metrics, diagnostics: NodeDiagnostics.wellKnown(on: system))
        }

        func failures(_ reason: String) throws -> Int64 {
            try metrics.expectCounter("naksha_actor_handshake_failures_total", [("reason", reason)]).totalValue
        }

        func call(_ other: Node) async throws -> [UInt8] {
            try await NodeDiagnostics.resolve(id: other.diagnostics.id, using: system).echo([4, 2])
        }
    }

    @Test func nodesWithTheSameTokenCallEachOtherBothWays() async throws {
        let a = try await Node.start(Self.secret)
        let b = try await Node.start(Self.secret)
        #expect(try await a.call(b) == [4, 2])
        #expect(try await b.call(a) == [4, 2])
        for node in [a, b] {
            for reason in ["bad_token", "tls", "protocol", "refused"] { #expect(try node.failures(reason) == 0) }
        }
        await a.system.shutdown()
        await b.system.shutdown()
    }

    @Test func aNodeWithAnotherTokenIsRefusedWhicheverSideDials() async throws {
        let good = try await Node.start(Self.secret)
        let intruder = try await Node.start(Self.otherSecret)

        // The intruder dials: the good node checks its proof and refuses.
        await expectRemoteError(.authenticationFailed) { try await intruder.call(good) }
        #expect(try good.failures("bad_token") == 1)
        #expect(try intruder.failures("refused") == 1)
        // The good node dials: the intruder (whose secret differs) refuses it in turn.
        await expectRemoteError(.authenticationFailed) { try await good.call(intruder) }
        #expect(try intruder.failures("bad_token") == 1)
        #expect(try good.failures("refused") == 1)

        #expect(try await waitUntil { good.system.openConnections == 0 && intruder.system.openConnections == 0 })
        #expect(good.system.inFlightIncomingCalls == 0)
        await good.system.shutdown()
        await intruder.system.shutdown()
    }

    @Test func aNodeWithoutATokenIsRefusedWhicheverSideDials() async throws {
        let good = try await Node.start(Self.secret)
        let open = try await Node.start(nil)

        // It dials: its proof is empty, so the good node refuses it.
        await expectRemoteError(.authenticationFailed) { try await open.call(good) }
        #expect(try good.failures("bad_token") == 1)
        #expect(try open.failures("refused") == 1)
        // The good node dials it: it checks nothing, but it cannot prove the secret either,
        // so the good node refuses to go on.
        await expectRemoteError(.authenticationFailed) { try await good.call(open) }
        #expect(try good.failures("bad_token") == 2)
        #expect(try await waitUntil { try open.failures("refused") == 2 })

        #expect(try await waitUntil { good.system.openConnections == 0 && open.system.openConnections == 0 })
        await good.system.shutdown()
        await open.system.shutdown()
    }
}
