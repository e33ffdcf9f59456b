import Distributed
import NakshaActors
import NakshaWire
import Testing

@Suite struct ActorSystemTests {
    @Test func callsGoBothWaysBetweenTwoSystems() async throws {
        try await withSystems(2) { systems in
            let a = NodeDiagnostics.wellKnown(on: systems[0])
            let b = NodeDiagnostics.wellKnown(on: systems[1])
            let bFromA = try NodeDiagnostics.resolve(id: NodeDiagnostics.id(on: systems[1].address), using: systems[0])
            let aFromB = try NodeDiagnostics.resolve(id: NodeDiagnostics.id(on: systems[0].address), using: systems[1])
            let fromA = try await bFromA.ping()
            let fromB = try await aFromB.ping()
            #expect(fromA == NodeDiagnostics.Identity(address: systems[1].address, incarnation: systems[1].incarnation))
            #expect(fromB == NodeDiagnostics.Identity(address: systems[0].address, incarnation: systems[0].incarnation))
            _ = (a, b)
        }
    }

    @Test func threeSystemsCallEachOther() async throws {
        try await withSystems(3) { systems in
            let locals = systems.map { NodeDiagnostics.wellKnown(on: $0) }
            for caller in systems {
                for callee in systems where callee !== caller {
                    let remote = try NodeDiagnostics.resolve(id: NodeDiagnostics.id(on: callee.address), using: caller)
                    #expect(try await remote.ping().incarnation == callee.incarnation)
                }
            }
            _ = locals
        }
    }

    @Test func thrownErrorArrivesAsRemoteErrorWithItsTypeName() async throws {
        try await withSystems(2) { systems in
            let local = NodeDiagnostics.wellKnown(on: systems[0])
            let remote = try NodeDiagnostics.resolve(id: local.id, using: systems[1])
            do {
                _ = try await remote.fail("boom")
                Issue.record("expected an error")
            } catch let error as RemoteCallError {
                #expect(error.code == .remoteError)
                #expect(error.remoteTypeName == String(reflecting: NodeDiagnostics.Failure.self))
                #expect(error.message.contains("boom"))
            }
        }
    }

    @Test func allowListedErrorTypeIsRebuiltAsItself() async throws {
        let configuration = ActorSystemConfiguration(rebuildableErrors: [NodeDiagnostics.Failure.self])
        try await withSystems(2, configuration: configuration) { systems in
            let local = NodeDiagnostics.wellKnown(on: systems[0])
            let remote = try NodeDiagnostics.resolve(id: local.id, using: systems[1])
            await #expect(throws: NodeDiagnostics.Failure(message: "boom")) { try await remote.fail("boom") }
        }
    }

    @Test(arguments: [0, 64 << 10, 8 << 20])
    func payloadsRoundTrip(size: Int) async throws {
        try await withSystems(2) { systems in
            let local = NodeDiagnostics.wellKnown(on: systems[0])
            let remote = try NodeDiagnostics.resolve(id: local.id, using: systems[1])
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
            #expect(try await remote.echo(payload) == payload)
        }
    }

    @Test func payloadOverTheFrameLimitFailsAtTheCaller() async throws {
        let configuration = ActorSystemConfiguration(limits: .init(maxFrameBytes: 1 << 20))
        try await withSystems(2, configuration: configuration) { systems in
            let local = NodeDiagnostics.wellKnown(on: systems[0])
            let remote = try NodeDiagnostics.resolve(id: local.id, using: systems[1])
            await expectRemoteError(.serializationFailed) { try await remote.echo([UInt8](repeating: 1, count: 2 << 20)) }
            #expect(try await remote.echo([1, 2, 3]) == [1, 2, 3])
        }
    }

    @Test func thousandConcurrentCallsAllGetTheirOwnAnswer() async throws {
        try await withSystems(2) { systems in
            let local = NodeDiagnostics.wellKnown(on: systems[0])
            let remote = try NodeDiagnostics.resolve(id: local.id, using: systems[1])
            let mismatches = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<1000 {
                    group.addTask {
                        let payload = withUnsafeBytes(of: UInt32(index).littleEndian) { Array($0) }
                        return try await remote.echo(payload) == payload
                    }
                }
                var bad = 0
                for try await ok in group where !ok { bad += 1 }
                return bad
            }
            #expect(mismatches == 0)
        }
    }

    @Test func unknownActorIsATypedError() async throws {
        try await withSystems(2) { systems in
            let remote = try NodeDiagnostics.resolve(id: NodeDiagnostics.id(on: systems[0].address), using: systems[1])
            await expectRemoteError(.unknownActor) { try await remote.ping() }
        }
    }

    @Test func actorOfAnEarlierIncarnationIsUnknown() async throws {
        try await withSystems(2) { systems in
            let local = NodeDiagnostics.wellKnown(on: systems[0])
            var staleID = local.id
            staleID.incarnation = systems[0].incarnation &+ 2
            let remote = try NodeDiagnostics.resolve(id: staleID, using: systems[1])
            await expectRemoteError(.unknownActor) { try await remote.ping() }
        }
    }

    @Test func localActorIsHeldWeaklyAndResignsItsID() async throws {
        try await withSystems(1) { systems in
            var local: NodeDiagnostics? = NodeDiagnostics(actorSystem: systems[0])
            #expect(systems[0].localActorCount == 1)
            #expect(local != nil)
            local = nil
            #expect(systems[0].localActorCount == 0)
        }
    }

    @Test func resolveReturnsNilNotAnErrorOnATypeMismatch() async throws {
        try await withSystems(1) { systems in
            let diagnostics = NodeDiagnostics.wellKnown(on: systems[0])
            let mismatched = try systems[0].resolve(id: diagnostics.id, as: Greeter.self)
            let matched = try systems[0].resolve(id: diagnostics.id, as: NodeDiagnostics.self)
            #expect(mismatched == nil)
            #expect(matched === diagnostics)
        }
    }
}
