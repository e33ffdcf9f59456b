import Foundation
import Distributed
import NakshaActors
import NakshaWire
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

/// A loopback port below the kernel's ephemeral range (32768–60999 here) that is free now.
///
/// Tests that stop a listener and start another on the same port use it: a port from the
/// ephemeral range can be handed to another test's `bind(0)` or outgoing connection in
/// between, and then the "restarted" peer is somebody else.
func stableLoopbackPort() throws -> Int {
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<200 {
        let port = Int.random(in: 20_000..<32_000, using: &generator)
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { continue }
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        if bound { return port }
    }
    throw RemoteCallError(.peerUnreachable, "no free loopback port in 20000..<32000")
}

/// A handshake payload as a raw peer writes and reads it. It mirrors `HandshakeMessage`
/// field by field on purpose: it pins the wire form rather than reusing the type under test.
struct RawHandshake: Codable {
    var protocolName: String
    var protocolVersion: UInt16
    var node: NodeAddress
    var incarnation: UInt64
    var refusal: String?
}

/// A handshake frame's bytes as a raw peer sends them, for tests that speak the protocol by
/// hand.
func rawHandshakeFrame(version: UInt16 = 2, incarnation: UInt64) throws -> [UInt8] {
    let hello = RawHandshake(
        protocolName: "naksha-actors", protocolVersion: version, node: NodeAddress(host: "127.0.0.1", port: 1),
        incarnation: incarnation)
    return try FrameEncoder().encode(Frame(kind: .handshake, streamID: 0, payload: BinaryEncoder().encode(hello)))
}
