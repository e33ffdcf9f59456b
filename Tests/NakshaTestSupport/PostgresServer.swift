import Foundation
import Glibc

/// A throwaway Postgres 15 for process tests: initdb + pg_ctl in a fresh temporary directory
/// on a free loopback port, as the `postgres` user when running as root (initdb refuses
/// root). `stop()` stops it and removes the directory. The URL is for `DATABASE_URL`.
public final class PostgresServer: Sendable {
    public let directory: String
    public let port: Int
    public var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }

    static let binDirectory = ProcessInfo.processInfo.environment["NAKSHA_PG_BIN"] ?? "/usr/lib/postgresql/15/bin"

    private init(directory: String, port: Int) {
        self.directory = directory
        self.port = port
    }

    public static func start() throws -> PostgresServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("naksha-pg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if getuid() == 0 { try run("/bin/chown", ["postgres:postgres", directory]) }
        var taken: Set<Int> = []
        let server = PostgresServer(directory: directory, port: try stableLoopbackPort(avoiding: &taken))
        try runAsPostgres("initdb", ["-D", directory + "/data", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
        let options = "-p \(server.port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
        try runAsPostgres("pg_ctl", ["-D", directory + "/data", "-o", options, "-l", directory + "/log", "-w", "-t", "30", "start"], captureOutput: false)
        return server
    }

    public func stop() {
        try? Self.runAsPostgres("pg_ctl", ["-D", directory + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs a Postgres tool; as root through `runuser -u postgres` (initdb and postgres refuse
    /// to run as root), otherwise directly as the current user.
    public static func runAsPostgres(_ tool: String, _ arguments: [String], captureOutput: Bool = true) throws {
        let path = tool.hasPrefix("/") ? tool : binDirectory + "/" + tool
        if getuid() == 0 {
            try run("/usr/sbin/runuser", ["-u", "postgres", "--", path] + arguments, captureOutput: captureOutput)
        } else {
            try run(path, arguments, captureOutput: captureOutput)
        }
    }

    /// Runs a program and waits for it (posix_spawn + waitpid; Foundation's `Process` can miss
    /// the exit of a child whose grandchild daemonises, as `pg_ctl start` does). Output goes
    /// to a file (never a pipe the postmaster could inherit) that is quoted on failure.
    public static func run(_ executable: String, _ arguments: [String], captureOutput: Bool = true) throws {
        let outputPath = "/tmp/naksha-test-cmd-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).out"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let target = captureOutput ? outputPath : "/dev/null"
        posix_spawn_file_actions_addopen(&actions, 1, target, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw TestSupportError("posix_spawn \(executable) failed: \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exitedCleanly = (status & 0x7F) == 0 && ((status >> 8) & 0xFF) == 0
        guard exitedCleanly else {
            let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw TestSupportError("\(executable) \(arguments.joined(separator: " ")) failed (status \(status)): \(output)")
        }
    }
}
