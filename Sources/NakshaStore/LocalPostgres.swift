import Foundation
import Glibc

/// A Postgres server run from the machine's own binaries (initdb, pg_ctl) in a directory of
/// ours, on a loopback port: what `naksha dev` uses when no `DATABASE_URL` is given, and what
/// the tests start. As root, the tools run as the `postgres` user (initdb and postgres refuse
/// root), and the directory is handed to that user.
///
/// A `start` on a directory that already holds a cluster reuses its data (the dev cluster's
/// vectors survive a restart); a server still running there from an earlier run is stopped
/// first.
public final class LocalPostgres: Sendable {
    public let directory: String
    public let port: Int
    public var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }
    public var dataDirectory: String { directory + "/data" }
    public var logPath: String { directory + "/postgres.log" }

    private init(directory: String, port: Int) {
        self.directory = directory
        self.port = port
    }

    /// The directory holding `initdb` and `pg_ctl`: `NAKSHA_PG_BIN`, else the newest
    /// `/usr/lib/postgresql/<version>/bin`.
    public static func binDirectory() throws(StoreError) -> String {
        if let configured = ProcessInfo.processInfo.environment["NAKSHA_PG_BIN"], !configured.isEmpty { return configured }
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])  // absent: no server installed
            .compactMap(Int.init).sorted()
        guard let newest = versions.last, FileManager.default.isExecutableFile(atPath: "\(root)/\(newest)/bin/initdb") else {
            throw StoreError(
                code: .invalidParameter, operation: "local_postgres",
                message: "no Postgres server binaries under \(root) (install the postgresql package: make setup), or set NAKSHA_PG_BIN")
        }
        return "\(root)/\(newest)/bin"
    }

    /// Starts (and first creates, if empty) the cluster in `directory` on `port`.
    /// - Parameter durable: false turns fsync off (tests: faster, nothing to keep).
    public static func start(directory: String, port: Int, durable: Bool = true) throws(StoreError) -> LocalPostgres {
        let server = LocalPostgres(directory: URL(fileURLWithPath: directory).standardizedFileURL.path, port: port)
        do {
            try FileManager.default.createDirectory(atPath: server.directory, withIntermediateDirectories: true)
            if getuid() == 0 { try run("/bin/chown", ["-R", "postgres:postgres", server.directory]) }
            if !FileManager.default.fileExists(atPath: server.dataDirectory + "/PG_VERSION") {
                try runAsPostgres("initdb", ["-D", server.dataDirectory, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
            } else if FileManager.default.fileExists(atPath: server.dataDirectory + "/postmaster.pid") {
                // Left running (or crashed) by an earlier run: stop it, or clear its stale pid file.
                try? runAsPostgres("pg_ctl", ["-D", server.dataDirectory, "-m", "fast", "-w", "-t", "30", "stop"])  // not running: nothing to stop
            }
            var options = "-p \(port) -k '\(server.directory)' -c listen_addresses=127.0.0.1"
            if !durable { options += " -c fsync=off -c synchronous_commit=off" }
            try runAsPostgres("pg_ctl", ["-D", server.dataDirectory, "-o", options, "-l", server.logPath, "-w", "-t", "60", "start"], captureOutput: false)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(code: .connectionFailed, operation: "local_postgres", message: "cannot start Postgres in \(server.directory): \(error) (see \(server.logPath))")
        }
        return server
    }

    /// The running postmaster's process id (from `postmaster.pid`), nil when it is not running.
    public var postmasterPID: Int32? {
        let text = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8)  // absent: not running
        return text?.split(separator: "\n").first.flatMap { Int32($0) }
    }

    /// Stops the server (fast: running queries are cancelled, data is kept).
    /// - Throws: when `pg_ctl stop` fails while the server still runs (the caller says so;
    ///   a server that is already stopped is not an error).
    public func stop() throws {
        guard postmasterPID != nil else { return }
        try Self.runAsPostgres("pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "-t", "30", "stop"])
    }

    /// Stops the server at once (no checkpoint) and removes its directory.
    public func destroy() {
        try? Self.runAsPostgres("pg_ctl", ["-D", dataDirectory, "-m", "immediate", "-w", "stop"])  // already stopped: nothing to do
        try? FileManager.default.removeItem(atPath: directory)  // best effort: a temporary directory
    }

    /// Runs a Postgres tool; as root through `runuser -u postgres`, otherwise directly.
    public static func runAsPostgres(_ tool: String, _ arguments: [String], captureOutput: Bool = true) throws {
        let path = tool.hasPrefix("/") ? tool : try binDirectory() + "/" + tool
        if getuid() == 0 {
            try run("/usr/sbin/runuser", ["-u", "postgres", "--", path] + arguments, captureOutput: captureOutput)
        } else {
            try run(path, arguments, captureOutput: captureOutput)
        }
    }

    /// Runs a program and waits for it (posix_spawn + waitpid; Foundation's `Process` can miss
    /// the exit of a child whose grandchild daemonises, as `pg_ctl start` does). Output goes
    /// to a file (never a pipe the postmaster could inherit) that is quoted on failure.
    public static func run(_ executable: String, _ arguments: [String], captureOutput: Bool = true) throws(StoreError) {
        let outputPath = "/tmp/naksha-cmd-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).out"
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
        guard spawned == 0 else {
            throw StoreError(code: .invalidParameter, operation: "local_postgres", message: "cannot run \(executable): error \(spawned)")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exitedCleanly = (status & 0x7F) == 0 && ((status >> 8) & 0xFF) == 0
        guard exitedCleanly else {
            let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""  // unreadable: reported without it
            throw StoreError(
                code: .connectionFailed, operation: "local_postgres",
                message: "\(executable) \(arguments.joined(separator: " ")) failed (status \(status)): \(output)")
        }
    }
}
