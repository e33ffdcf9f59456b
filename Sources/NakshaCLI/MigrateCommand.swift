import ArgumentParser
import Foundation
import NakshaStore

/// `naksha migrate`: brings the Postgres cold store's schema up to this build's version.
/// Safe to run while coordinators run: migrations take a Postgres advisory lock.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the cold store's schema migrations (idempotent; uses DATABASE_URL)."
    )

    @Option(help: "Postgres connection string (default: the DATABASE_URL environment variable).")
    var databaseURL: String?

    func run() async throws {
        var environment = ProcessInfo.processInfo.environment
        if let databaseURL { environment["DATABASE_URL"] = databaseURL }
        let configuration = try PostgresConfiguration.fromEnvironment(environment)
        let store = PostgresColdStore(configuration: configuration)
        do {
            let report = try await store.migrate()
            await store.shutdown()
            if report.applied.isEmpty {
                print("schema is up to date (version \(report.currentVersion))")
            } else {
                print("applied migrations \(report.applied.map(String.init).joined(separator: ", ")); schema is at version \(report.currentVersion)")
            }
        } catch {
            await store.shutdown()
            print("migrate failed: \(error)")
            throw ExitCode(1)
        }
    }
}
