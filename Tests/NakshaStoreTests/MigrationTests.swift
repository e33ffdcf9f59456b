import Testing
@testable import NakshaStore

@Suite("migrations (real Postgres)")
struct MigrationTests {
    @Test func migratingAnEmptyDatabaseAppliesEveryMigrationThenRerunAppliesNone() async throws {
        let dsn = try TestPostgres.freshDatabase("migrate")
        let store = Fixtures.store(configuration: PostgresConfiguration(connectionString: dsn))
        defer { Task { await store.shutdown() } }
        let first = try await store.migrate()
        #expect(first.applied == Migration.all.map(\.version))
        #expect(first.alreadyApplied.isEmpty)
        let second = try await store.migrate()
        #expect(second.applied.isEmpty)
        #expect(second.alreadyApplied == Migration.all.map(\.version))
        let tables = try await store.testQuery(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        #expect(tables == [
            "naksha_chunks", "naksha_collections", "naksha_documents", "naksha_graph_versions", "naksha_job_nodes",
            "naksha_jobs", "naksha_migrations", "naksha_shard_sequences", "naksha_shard_snapshot_chunks", "naksha_shard_snapshots",
            "naksha_vectors",
        ])
    }

    @Test func concurrentMigratorsApplyEachMigrationExactlyOnce() async throws {
        let dsn = try TestPostgres.freshDatabase("concurrent_migrate")
        let stores = (0..<4).map { _ in Fixtures.store(configuration: PostgresConfiguration(connectionString: dsn)) }
        let reports = try await withThrowingTaskGroup(of: MigrationReport.self) { group in
            for store in stores { group.addTask { try await store.migrate() } }
            var reports: [MigrationReport] = []
            for try await report in group { reports.append(report) }
            return reports
        }
        let appliedEverywhere = reports.flatMap(\.applied).sorted()
        #expect(appliedEverywhere == Migration.all.map(\.version))
        let recorded = try await stores[0].testQuery("SELECT count(*) FROM naksha_migrations")
        #expect(recorded == ["\(Migration.all.count)"])
        for store in stores { await store.shutdown() }
    }

    @Test func aDatabaseFromANewerBuildIsRefusedWithAClearError() async throws {
        let store = try await Fixtures.migratedStore("newer")
        _ = try await store.testQuery("INSERT INTO naksha_migrations (version, name) VALUES (999, 'from_the_future')")
        do {
            _ = try await store.migrate()
            Issue.record("expected migrationFailed")
        } catch {
            #expect(error.code == .migrationFailed)
            #expect(error.message.contains("999"))
        }
        await store.shutdown()
    }
}
