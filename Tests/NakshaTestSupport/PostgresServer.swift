import Foundation
import NakshaStore

/// A throwaway Postgres for process tests: `LocalPostgres` (the same code `naksha dev` runs)
/// in a fresh temporary directory on a free loopback port, fsync off. `stop()` stops it and
/// removes the directory. The URL is for `DATABASE_URL`.
public final class PostgresServer: Sendable {
    let server: LocalPostgres
    public var directory: String { server.directory }
    public var port: Int { server.port }
    public var url: String { server.url }

    private init(server: LocalPostgres) {
        self.server = server
    }

    public static func start() throws -> PostgresServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("naksha-pg-\(UUID().uuidString)").path
        var taken: Set<Int> = []
        return PostgresServer(server: try LocalPostgres.start(directory: directory, port: try stableLoopbackPort(avoiding: &taken), durable: false))
    }

    public func stop() { server.destroy() }

    public static func runAsPostgres(_ tool: String, _ arguments: [String], captureOutput: Bool = true) throws {
        try LocalPostgres.runAsPostgres(tool, arguments, captureOutput: captureOutput)
    }

    public static func run(_ executable: String, _ arguments: [String], captureOutput: Bool = true) throws {
        try LocalPostgres.run(executable, arguments, captureOutput: captureOutput)
    }
}
