import Distributed
import NakshaActors
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
