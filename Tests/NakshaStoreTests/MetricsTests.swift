import MetricsTestKit
import Testing
@testable import NakshaStore

@Suite("metrics (real Postgres)")
struct MetricsTests {
    @Test func operationsRecordDurationErrorsAndPoolGauges() async throws {
        let metrics = TestMetrics()
        let store = PostgresColdStore(
            configuration: PostgresConfiguration(connectionString: try TestPostgres.freshDatabase("metrics")),
            metricsFactory: metrics)
        _ = try await store.migrate()
        _ = try await store.archivedJob(id: "none")
        await #expect(throws: StoreError.self) {
            try await store.upsertVectors([VectorRecord(id: "a", shard: 0, vector: [1])], into: "missing")
        }
        #expect(!metrics.timers(label: "naksha_db_query_duration_seconds", dimensions: [("op", "archived_job")]).isEmpty)
        #expect(!metrics.timers(label: "naksha_db_query_duration_seconds", dimensions: [("op", "migrate")]).isEmpty)
        #expect(metrics.counterTotal(label: "naksha_db_errors_total", dimensions: [("op", "upsert_vectors")]) == 1)
        #expect(metrics.counterTotal(label: "naksha_db_errors_total", dimensions: [("op", "archived_job")]) == 0)
        let idle = try metrics.expectGauge("naksha_db_pool_connections", [("state", "idle")])
        #expect(idle.lastValue == 1)
        let inUse = try metrics.expectGauge("naksha_db_pool_connections", [("state", "in_use")])
        #expect(inUse.lastValue == 0)
        await store.shutdown()
    }
}
