import Foundation
import MetricsTestKit
import NakshaActors
import Testing

/// Mutual TLS with certificates made by `openssl` for the test: two nodes of one cluster CA
/// talk; a node whose certificate comes from another CA is refused both ways, and counted in
/// `naksha_actor_handshake_failures_total{reason="tls"}`.
@Suite struct MutualTLSTests {
    struct Material {
        let directory: URL
        func tls(_ node: String, ca: String) -> ActorSystemConfiguration.Security {
            .mutualTLS(.init(
                certificateChainPath: directory.appendingPathComponent("\(node).pem").path,
                privateKeyPath: directory.appendingPathComponent("\(node).key").path,
                trustedCAPath: directory.appendingPathComponent("\(ca).pem").path
            ))
        }
    }

    static func makeMaterial() throws -> Material {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("naksha-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let script = """
            set -e
            cd "\(directory.path)"
            printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth,clientAuth\\n' > ext.cnf
            for ca in ca-good ca-evil; do
              openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $ca.key -out $ca.pem -days 2 -subj /CN=$ca 2>/dev/null
            done
            issue() {
              openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $1.key -out $1.csr -subj /CN=$1 2>/dev/null
              openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key -CAcreateserial -out $1.pem -days 2 -extfile ext.cnf 2>/dev/null
            }
            issue node-a ca-good
            issue node-b ca-good
            issue node-evil ca-evil
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "openssl failed to make test certificates")
        return Material(directory: directory)
    }

    @Test func nodesOfOneCATalkAndAnotherCAIsRefused() async throws {
        let material = try Self.makeMaterial()
        defer { try? FileManager.default.removeItem(at: material.directory) }
        let aMetrics = TestMetrics()
        let evilMetrics = TestMetrics()
        let a = try await NakshaActorSystem.start(
            ActorSystemConfiguration(security: material.tls("node-a", ca: "ca-good"), metricsFactory: aMetrics))
        let b = try await NakshaActorSystem.start(ActorSystemConfiguration(security: material.tls("node-b", ca: "ca-good")))
        let evil = try await NakshaActorSystem.start(
            ActorSystemConfiguration(security: material.tls("node-evil", ca: "ca-evil"), metricsFactory: evilMetrics))
        // The intruder trusts the good CA too, so only the server's check can stop it.
        let intruder = try await NakshaActorSystem.start(ActorSystemConfiguration(security: material.tls("node-evil", ca: "ca-good")))
        let diagnostics = NodeDiagnostics.wellKnown(on: a)

        let fromB = try NodeDiagnostics.resolve(id: diagnostics.id, using: b)
        #expect(try await fromB.echo([1, 2, 3]) == [1, 2, 3])

        let fromEvil = try NodeDiagnostics.resolve(id: diagnostics.id, using: evil)
        await expectRemoteError(.handshakeFailed) { try await fromEvil.ping() }
        // The evil node does not trust node-a's certificate: its own TLS check failed.
        #expect(try evilMetrics.expectCounter("naksha_actor_handshake_failures_total", [("reason", "tls")]).totalValue >= 1)
        let fromIntruder = try NodeDiagnostics.resolve(id: diagnostics.id, using: intruder)
        do {
            _ = try await fromIntruder.ping()
            Issue.record("a certificate from another CA was accepted")
        } catch let error as RemoteCallError {
            #expect(error.code == .peerUnreachable || error.code == .handshakeFailed || error.code == .connectionLost, "\(error)")
        }
        // node-a refused the intruder's certificate (the server's check) and counted it.
        let refusedByA = try aMetrics.expectCounter("naksha_actor_handshake_failures_total", [("reason", "tls")])
        #expect(try await waitUntil { refusedByA.totalValue >= 1 })
        #expect(try aMetrics.expectCounter("naksha_actor_handshake_failures_total", [("reason", "bad_token")]).totalValue == 0)
        #expect(a.localActorCount == 1)
        for system in [a, b, evil, intruder] { await system.shutdown() }
    }

    @Test func missingCertificateFileIsAClearStartupError() async throws {
        let security = ActorSystemConfiguration.Security.mutualTLS(.init(
            certificateChainPath: "/nonexistent/node.pem", privateKeyPath: "/nonexistent/node.key", trustedCAPath: "/nonexistent/ca.pem"
        ))
        await #expect(throws: (any Error).self) { try await NakshaActorSystem.start(ActorSystemConfiguration(security: security)) }
    }
}
