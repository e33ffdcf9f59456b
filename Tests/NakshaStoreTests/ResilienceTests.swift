import MetricsTestKit
import Testing
@testable import NakshaStore

/// Counts finished operations across tasks.
actor Progress {
    private(set) var done = 0
    func increment() { done += 1 }
}

@Suite("restart and credential rotation (private Postgres)", .serialized)
struct ResilienceTests {
    @Test func idempotentOperationsSurviveAServerRestartMidWork() async throws {
        let server = try TestPostgres.start()
        defer { server.destroy() }
        let store = Fixtures.store(configuration: PostgresConfiguration(
            connectionString: try server.freshDatabase("restart"), maxConnections: 3, retryDeadline: .seconds(30)))
        _ = try await store.migrate()
        try await store.createCollection(VectorCollection(name: "c", dimension: 4, metric: "l2", shardCount: 1))
        let progress = Progress()
        let operations = 60
        let worker = Task {
            for index in 0..<operations {
                try await store.archiveJobs([Fixtures.job(id: "job-\(index)")])
                _ = try #require(try await store.archivedJob(id: "job-\(index)"))
                try await store.upsertVectors([VectorRecord(id: "v\(index)", shard: 0, vector: [1, 2, 3, Float(index)])], into: "c")
                await progress.increment()
            }
        }
        #expect(try await waitUntil { await progress.done >= 10 })
        try server.stopServer()
        try server.startServer()
        try await worker.value
        #expect(await progress.done == operations)
        #expect(try await store.testQuery("SELECT count(*) FROM naksha_jobs") == ["\(operations)"])
        let changes = try await store.vectorChanges(collection: "c", shard: 0, afterSequence: 0, limit: nil)
        #expect(changes.count == operations)
        #expect(changes.map(\.sequence) == changes.map(\.sequence).sorted())
        await store.shutdown()
    }

    @Test func staleIdleConnectionsAreReplacedAfterARestart() async throws {
        let server = try TestPostgres.start()
        defer { server.destroy() }
        let store = Fixtures.store(configuration: PostgresConfiguration(
            connectionString: try server.freshDatabase("stale"), maxConnections: 3, retryDeadline: .seconds(30)))
        _ = try await store.migrate()
        // Fill the pool with idle connections.
        async let a = store.testQuery("SELECT pg_sleep(0.2)::text")
        async let b = store.testQuery("SELECT pg_sleep(0.2)::text")
        async let c = store.testQuery("SELECT pg_sleep(0.2)::text")
        _ = try await (a, b, c)
        #expect(await store.pool.stats.idle == 3)
        try server.stopServer()
        try server.startServer()
        for index in 0..<5 {
            #expect(try await store.archivedJob(id: "none-\(index)") == nil)
        }
        let stats = await store.pool.stats
        #expect(stats.inUse == 0 && stats.idle >= 1)
        await store.shutdown()
    }

    @Test func idleCheckOnCheckoutReplacesDeadConnectionsBeforeAnyStatementFails() async throws {
        let server = try TestPostgres.start()
        defer { server.destroy() }
        let metrics = TestMetrics()
        let store = PostgresColdStore(
            configuration: PostgresConfiguration(
                connectionString: try server.freshDatabase("idle_check"), maxConnections: 2,
                retryDeadline: .seconds(30), idleCheckInterval: .zero),
            logger: Fixtures.quietLogger, metricsFactory: metrics)
        _ = try await store.migrate()
        async let a = store.testQuery("SELECT pg_sleep(0.2)::text")
        async let b = store.testQuery("SELECT pg_sleep(0.2)::text")
        _ = try await (a, b)
        #expect(await store.pool.stats.idle == 2)
        try server.stopServer()
        try server.startServer()
        #expect(try await store.archivedJob(id: "none") == nil)
        // The dead sessions were found by the checkout ping, not by a failing statement.
        #expect(metrics.counterTotal(label: "naksha_db_errors_total", dimensions: [("op", "archived_job")]) == 0)
        await store.shutdown()
    }

    @Test func replacingTheConnectionStringLetsInFlightWorkFinishAndNewWorkUseTheNewDSN() async throws {
        let dsn = try TestPostgres.freshDatabase("rotate")
        let store = Fixtures.store(configuration: PostgresConfiguration(connectionString: dsn, maxConnections: 3))
        _ = try await store.migrate()
        _ = try await store.testQuery("DO $$ BEGIN CREATE ROLE naksha_rotated LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        #expect(try await store.testQuery("SELECT current_user::text") == ["postgres"])
        async let inFlight = store.testQuery("SELECT pg_sleep(0.5)::text || current_user")
        #expect(try await waitUntil { await store.pool.stats.inUse == 1 })
        let newDSN = try ConnectionString.replacing("user", with: "naksha_rotated", in: dsn)
        await store.replaceConnectionString(newDSN)
        #expect(try await store.testQuery("SELECT current_user::text") == ["naksha_rotated"])
        #expect(try await inFlight == ["postgres"])
        // The old connection is closed once returned: only new-generation sessions remain.
        #expect(try await waitUntil {
            try await store.testQuery(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'naksha' AND usename = 'postgres' AND datname = current_database()"
            ) == ["0"]
        })
        await store.shutdown()
    }
}
