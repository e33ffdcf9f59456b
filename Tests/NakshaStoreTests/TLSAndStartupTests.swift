import Testing
@testable import NakshaStore

/// TLS per `sslmode` against a Postgres that accepts TLS only, and migrations run by several
/// processes' worth of stores at once (as three coordinators starting together do).
@Suite("TLS and concurrent start (private Postgres)", .serialized) struct TLSAndStartupTests {
    @Test func sslmodeRequireAndVerifyFullUseTLSAndDisableIsRefused() async throws {
        let server = try TestPostgres.start(tls: true)
        defer { server.destroy() }
        let base = "postgresql://postgres@127.0.0.1:\(server.port)/postgres?connect_timeout=5"

        for mode in ["sslmode=require", "sslmode=verify-full&sslrootcert=\(server.certificatePath)"] {
            let store = Fixtures.store(configuration: PostgresConfiguration(connectionString: "\(base)&\(mode)", retryDeadline: .seconds(2)))
            _ = try await store.migrate()
            let connection = try PostgresConnection.connect(dsn: "\(base)&\(mode)", generation: 0).get()
            let result = try connection.execute("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()", operation: "test")
            connection.close()
            #expect(result.rows.first?.first == "true", "\(mode): the session is not encrypted")
            await store.shutdown()
        }

        // The server takes TLS only: a client that refuses TLS gets a clear connection error.
        let plain = Fixtures.store(configuration: PostgresConfiguration(connectionString: "\(base)&sslmode=disable", retryDeadline: .milliseconds(200)))
        do {
            _ = try await plain.migrate()
            Issue.record("a plaintext connection was accepted")
        } catch {
            #expect(error.code == .connectionFailed)
            #expect(error.description.contains("no encryption") || error.description.contains("pg_hba"), "\(error)")
        }
        await plain.shutdown()

        // verify-full against the wrong CA file fails instead of trusting the server.
        let untrusted = Fixtures.store(configuration: PostgresConfiguration(
            connectionString: "\(base)&sslmode=verify-full&sslrootcert=/etc/ssl/certs/ca-certificates.crt", retryDeadline: .milliseconds(200)))
        do {
            _ = try await untrusted.migrate()
            Issue.record("an untrusted server certificate was accepted")
        } catch {
            #expect(error.code == .connectionFailed)
        }
        await untrusted.shutdown()
    }

    @Test func threeStoresMigratingAtOnceApplyEachMigrationOnce() async throws {
        let dsn = try TestPostgres.freshDatabase("concurrent_start")
        let stores = (0..<3).map { _ in Fixtures.store(configuration: PostgresConfiguration(connectionString: dsn)) }
        let reports = try await withThrowingTaskGroup(of: MigrationReport.self) { group in
            for store in stores { group.addTask { try await store.migrate() } }
            var reports: [MigrationReport] = []
            for try await report in group { reports.append(report) }
            return reports
        }
        // Exactly one store applied the migrations; the others found them applied.
        let applied = reports.map(\.applied).filter { !$0.isEmpty }
        #expect(applied.count == 1)
        #expect(Set(reports.map(\.currentVersion)).count == 1)
        for store in stores { await store.shutdown() }
    }
}
