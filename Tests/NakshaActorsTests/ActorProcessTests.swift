import Foundation
import NakshaActors
import NakshaTestSupport
import Testing

/// Real separate processes: `naksha-actor-peer serve`, started and killed by the test.
@Suite(.serialized) struct ActorProcessTests {
    final class PeerProcess {
        let process: Process
        let port: Int
        let incarnation: UInt64

        init(port: Int = 0) throws {
            let executable = try Self.executableURL()
            process = Process()
            process.executableURL = executable
            process.arguments = ["serve", "--port", String(port)]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            guard let line = Self.readLine(output.fileHandleForReading) else {
                process.terminate()
                throw RemoteCallError(.peerUnreachable, "naksha-actor-peer did not print READY")
            }
            let parts = line.split(separator: " ")
            guard parts.count == 3, parts[0] == "READY", let boundPort = Int(parts[1]), let incarnation = UInt64(parts[2]) else {
                process.terminate()
                throw RemoteCallError(.peerUnreachable, "unexpected first line from naksha-actor-peer: \(line)")
            }
            self.port = boundPort
            self.incarnation = incarnation
        }

        var address: NodeAddress { NodeAddress(host: "127.0.0.1", port: port) }

        func kill9() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        deinit {
            if process.isRunning { kill9() }
        }

        static func readLine(_ handle: FileHandle) -> String? {
            var bytes: [UInt8] = []
            while true {
                let chunk = handle.readData(ofLength: 1)
                guard let byte = chunk.first else { return nil }
                if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
                bytes.append(byte)
            }
        }

        /// The helper is built next to the test bundle (`.build/<config>/naksha-actor-peer`).
        static func executableURL() throws -> URL {
            try builtExecutable("naksha-actor-peer", "NakshaActorPeer")
        }
    }

    @Test func killedPeerFailsTheCallInFlightAndARestartRecovers() async throws {
        let configuration = ActorSystemConfiguration(reconnectBackoffInitial: .milliseconds(20), reconnectBackoffMax: .milliseconds(200))
        let client = try await NakshaActorSystem.start(configuration)
        let peer = try PeerProcess(port: stableLoopbackPort())
        let remote = try NodeDiagnostics.resolve(id: NodeDiagnostics.id(on: peer.address), using: client)
        #expect(try await remote.ping().incarnation == peer.incarnation)
        #expect(try await remote.echo(Array(repeating: 5, count: 1 << 20)).count == 1 << 20)

        let call = Task {
            try await NakshaActorSystem.$callTimeout.withValue(.seconds(3)) { try await remote.pause(milliseconds: 30_000) }
        }
        #expect(try await waitUntil { client.inFlightOutgoingCalls == 1 })
        let killed = ContinuousClock.now
        peer.kill9()
        do {
            _ = try await call.value
            Issue.record("the call survived kill -9")
        } catch let error as RemoteCallError {
            #expect(error.code == .connectionLost || error.code == .peerUnreachable, "\(error)")
        }
        #expect(ContinuousClock.now - killed < .seconds(3))

        let restarted = try PeerProcess(port: peer.port)
        var identity: NodeDiagnostics.Identity? = nil
        #expect(try await waitUntil(timeout: .seconds(10)) {
            identity = try? await remote.ping()
            return identity != nil
        })
        #expect(identity?.incarnation == restarted.incarnation)
        #expect(restarted.incarnation != peer.incarnation)
        restarted.kill9()
        await client.shutdown()
    }
}
