import MetricsTestKit
import NakshaActors
import Testing

@Suite struct ActorMetricsTests {
    @Test func callsConnectionsAndBytesAreCounted() async throws {
        let metrics = TestMetrics()
        let configuration = ActorSystemConfiguration(metricsFactory: metrics)
        try await withSystems(2, configuration: configuration) { systems in
            let local = NodeDiagnostics.wellKnown(on: systems[0])
            let remote = try NodeDiagnostics.resolve(id: local.id, using: systems[1])
            for _ in 0..<3 { _ = try await remote.echo([1, 2, 3]) }
            await expectRemoteError(.remoteError) { try await remote.fail("x") }

            let ok = try metrics.expectCounter("naksha_actor_calls_total", [("target", "echo"), ("outcome", "ok")])
            #expect(ok.totalValue == 3)
            let failed = try metrics.expectCounter("naksha_actor_calls_total", [("target", "fail"), ("outcome", "remoteError")])
            #expect(failed.totalValue == 1)
            let duration = try metrics.expectTimer("naksha_actor_call_duration_seconds")
            #expect(duration.values.count == 4)
            let sent = try metrics.expectCounter("naksha_actor_bytes_total", [("direction", "sent")])
            #expect(sent.totalValue > 0)
            let connections = try metrics.expectGauge("naksha_actor_connections")
            #expect(connections.lastValue == 1)  // each system: its one connection (dialled or accepted)
        }
    }
}
