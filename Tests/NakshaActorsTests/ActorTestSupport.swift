import Foundation
import Distributed
import NakshaActors
import NakshaWire
import NakshaTestSupport
import Testing

/// Starts `count` actor systems on loopback, runs `body`, shuts them down.
func withSystems<T>(
    _ count: Int, configuration: ActorSystemConfiguration = ActorSystemConfiguration(),
    _ body: ([NakshaActorSystem]) async throws -> T
) async throws -> T {
    var systems: [NakshaActorSystem] = []
    for _ in 0..<count { systems.append(try await NakshaActorSystem.start(configuration)) }
    do {
        let result = try await body(systems)
        for system in systems { await system.shutdown() }
        return result
    } catch {
        for system in systems { await system.shutdown() }
        throw error
    }
}

/// Asserts that `body` fails with a `RemoteCallError` of `code`.
func expectRemoteError<T>(
    _ code: RemoteCallError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T
) async {
    do {
        _ = try await body()
        Issue.record("expected RemoteCallError.\(code), but the call succeeded", sourceLocation: sourceLocation)
    } catch let error as RemoteCallError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected RemoteCallError.\(code), got \(error)", sourceLocation: sourceLocation)
    }
}

/// Polls `condition` until it holds or `timeout` passes (no fixed sleeps as synchronisation).
func waitUntil(timeout: Duration = .seconds(15), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(5))
    }
    return try await condition()
}

/// A handshake payload as a raw peer writes and reads it. It mirrors `HandshakeMessage`
/// field by field on purpose: it pins the wire form rather than reusing the type under test.
struct RawHandshake: Codable {
    var protocolName: String
    var protocolVersion: UInt16
    var node: NodeAddress
    var incarnation: UInt64
    var nonce: [UInt8]
    var proof: [UInt8]
    var refusal: String?
}

/// A hello frame's bytes as a raw peer with no cluster secret sends them, for tests that
/// speak the protocol by hand.
func rawHandshakeFrame(version: UInt16 = 3, incarnation: UInt64) throws -> [UInt8] {
    let hello = RawHandshake(
        protocolName: "naksha-actors", protocolVersion: version, node: NodeAddress(host: "127.0.0.1", port: 1),
        incarnation: incarnation, nonce: [UInt8](repeating: 7, count: 32), proof: [])
    return try FrameEncoder().encode(Frame(kind: .handshake, streamID: 0, payload: BinaryEncoder().encode(hello)))
}

/// Everything a raw dialler with no cluster secret sends to be established: its hello and
/// its proof. With no secret the proof message is the hello again (empty proof), and it need
/// not wait for the acceptor's hello, since it proves nothing.
func rawHandshakeFrames(incarnation: UInt64) throws -> [UInt8] {
    let hello = try rawHandshakeFrame(incarnation: incarnation)
    return hello + hello
}
