import Foundation
import NakshaTestSupport
import Testing
@testable import NakshaStore

/// TLS per `sslmode` against a Postgres that accepts TLS only, and three coordinator
/// processes that start together and migrate the cold store under the advisory lock.
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

    @Test func threeCoordinatorProcessesStartingTogetherMigrateTheColdStoreOnce() async throws {
        let dsn = try TestPostgres.freshDatabase("coordinator_start")
        let binary = try Self.nakshaBinary()
        let directory = try TestPostgres.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var taken: Set<Int> = []
        let ports = try (0..<9).map { _ in try stableLoopbackPort(avoiding: &taken) }
        let peers = (1...3).map { "\($0)=127.0.0.1:\(ports[$0 - 1])" }.joined(separator: ",")
        var processes: [Process] = []
        defer { for process in processes where process.isRunning { process.terminate(); process.waitUntilExit() } }
        for id in 1...3 {
            let process = Process()
            process.executableURL = binary
            process.arguments = [
                "coordinator", "--node-id", "\(id)", "--peers", peers, "--data-dir", "\(directory)/node-\(id)",
                "--http-port", "\(ports[2 + id])", "--client-port", "\(ports[5 + id])", "--database-url", dsn,
            ]
            _ = FileManager.default.createFile(atPath: "\(directory)/\(id).log", contents: nil)
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(directory)/\(id).log"))
            process.standardOutput = FileHandle.nullDevice
            processes.append(process)
        }
        for process in processes { try process.run() }  // as close together as we can
        func logs() -> [String] { (1...3).map { (try? String(contentsOfFile: "\(directory)/\($0).log", encoding: .utf8)) ?? "" } }
        let deadline = ContinuousClock.now + .seconds(60)
        while logs().contains(where: { !$0.contains("coordinator started") }), ContinuousClock.now < deadline {
            let running = processes.allSatisfy { $0.isRunning }
            #expect(running, "\(logs())")
            try await Task.sleep(for: .milliseconds(50))
        }
        let started = logs()
        #expect(started.allSatisfy { $0.contains("cold store schema ready") }, "\(started)")
        // Exactly one of them applied the migrations; the others waited on the advisory lock
        // and found them applied.
        let appliers = started.filter { !$0.contains("\"applied\":\"[]\"") }
        #expect(appliers.count == 1, "\(started)")
        let store = Fixtures.store(configuration: PostgresConfiguration(connectionString: dsn))
        #expect(try await store.testQuery("SELECT count(*) FROM naksha_migrations") == ["\(Migration.all.count)"])
        await store.shutdown()
    }

    static func nakshaBinary() throws -> URL {
        try builtExecutable("naksha")
    }
}
