import Distributed
import NakshaActors
import Testing

/// Keeps every `remoteCalls` table exact: each distributed function of each type is called
/// remotely and must be accepted and answer as that function does, and the table has no
/// entry beyond them. Adding a distributed function means adding a call here and its entry
/// to the type's table (the failure message prints the identifier).
@Suite struct RemoteCallTargetTests {
    @Test func nodeDiagnosticsAllowListIsExact() async throws {
        try await withSystems(2) { systems in
            let local = NodeDiagnostics.wellKnown(on: systems[0])
            let remote = try NodeDiagnostics.resolve(id: local.id, using: systems[1])
            // Each result is checked, so an entry that ran another function would be caught.
            #expect(try await remote.ping() == NodeDiagnostics.Identity(address: systems[0].address, incarnation: systems[0].incarnation))
            #expect(try await remote.echo([1]) == [1])
            #expect(try await remote.pause(milliseconds: 0) == false)
            #expect(try await remote.cancelledPauses() == 0)
            await expectRemoteError(.remoteError) { try await remote.fail("expected") }
            #expect(NodeDiagnostics.remoteCalls.count == 5)
        }
    }

    @Test func testActorsAllowListsAreExact() async throws {
        try await withSystems(2) { systems in
            let greeter = Greeter(actorSystem: systems[0])
            let sequencer = Sequencer(actorSystem: systems[0])
            #expect(try await Greeter.resolve(id: greeter.id, using: systems[1]).greet("a") == "hello, a")
            let remoteSequencer = try Sequencer.resolve(id: sequencer.id, using: systems[1])
            try await remoteSequencer.record(1)
            #expect(try await remoteSequencer.recorded() == [1])
            #expect(Greeter.remoteCalls.count == 1)
            #expect(Sequencer.remoteCalls.count == 2)
        }
    }

    @Test func callsOnOneConnectionStartInSendOrder() async throws {
        try await withSystems(2) { systems in
            let local = Sequencer(actorSystem: systems[0])
            let remote = try Sequencer.resolve(id: local.id, using: systems[1])
            try await remote.record(-1)  // connect first
            var calls: [Task<Void, any Error>] = []
            for value in 0..<2000 {
                calls.append(Task.immediate { try await remote.record(value) })
            }
            for call in calls { try await call.value }
            #expect(try await remote.recorded() == [-1] + Array(0..<2000))
        }
    }
}
