import Foundation
import NakshaTestSupport
import Testing
@testable import NakshaStore

/// A real Postgres 15 for the tests: initdb + pg_ctl as the `postgres` user, on a free
/// loopback port, in a fresh temp directory; stopped and removed at process exit.
///
/// `shared` serves most tests (each gets its own database); tests that restart the server
/// start a private one. When `DATABASE_URL` is set, `shared` uses that server instead.
final class TestPostgres: @unchecked Sendable {
    /// Where initdb/pg_ctl live: `NAKSHA_PG_BIN`, else Debian's Postgres 15 location.
    static let binDirectory = ProcessInfo.processInfo.environment["NAKSHA_PG_BIN"] ?? "/usr/lib/postgresql/15/bin"
    let directory: String
    let port: Int
    private let lock = NSLock()
    private var databaseCounter = 0

    var adminDSN: String { "host=127.0.0.1 port=\(port) user=postgres dbname=postgres connect_timeout=5" }

    private init(directory: String, port: Int, tls: Bool = false) {
        self.directory = directory
        self.port = port
        self.tls = tls
    }

    /// Starts a private server (always local, never DATABASE_URL). With `tls`, the server
    /// gets a self-signed certificate for 127.0.0.1 (`certificatePath`) and accepts TCP
    /// connections over TLS only.
    static func start(tls: Bool = false) throws -> TestPostgres {
        let directory = try makeTemporaryDirectory()
        TestCleanup.register(directory)
        if getuid() == 0 { try run("/bin/chown", ["postgres:postgres", directory]) }
        try runAsPostgres("initdb", ["-D", directory + "/data", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
        let server = TestPostgres(directory: directory, port: try stableLoopbackPort(), tls: tls)
        if tls {
            try runAsPostgres("/usr/bin/openssl", [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", server.keyPath, "-out", server.certificatePath,
            ])
            try runAsPostgres("/bin/chmod", ["600", server.keyPath])
            let rules = "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n"
            try rules.write(toFile: directory + "/data/pg_hba.conf", atomically: false, encoding: .utf8)
        }
        try server.startServer()
        return server
    }

    let tls: Bool
    var certificatePath: String { directory + "/server.crt" }
    var keyPath: String { directory + "/server.key" }

    func startServer() throws {
        var options = "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off "
            + "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        if tls { options += " -c ssl=on -c ssl_cert_file=\(certificatePath) -c ssl_key_file=\(keyPath)" }
        do {
            // The postmaster inherits pg_ctl's stdout: no pipe here, or reading it never ends.
            try Self.runAsPostgres(
                "pg_ctl", ["-D", directory + "/data", "-o", options, "-l", directory + "/log", "-w", "-t", "30", "start"],
                captureOutput: false)
        } catch {
            let log = (try? String(contentsOfFile: directory + "/log", encoding: .utf8)) ?? ""
            throw TestSetupError.commandFailed("\(error)\n\(log)")
        }
    }

    func stopServer() throws {
        try Self.runAsPostgres("pg_ctl", ["-D", directory + "/data", "-m", "fast", "-w", "stop"])
    }

    /// Stops the server and removes its directory.
    func destroy() {
        try? stopServer()
        try? FileManager.default.removeItem(atPath: directory)
        TestCleanup.unregister(directory)
    }

    // MARK: - Shared server and per-test databases

    private static let sharedServer: Result<TestPostgres, any Error>? = {
        if let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty { return nil }
        return Result { try TestPostgres.start() }
    }()

    /// A DSN for a new, empty database on the shared server (or on DATABASE_URL's server).
    static func freshDatabase(_ label: String) throws -> String {
        let base: String
        let server: TestPostgres?
        if let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty {
            base = url
            server = nil
        } else {
            guard let shared = sharedServer else { throw TestSetupError.noServer }
            server = try shared.get()
            base = try shared.get().adminDSN
        }
        let name = "naksha_test_\(label)_\(ProcessInfo.processInfo.processIdentifier)_\(nextDatabaseNumber(server))"
        let dsn = try createDatabase(name, adminDSN: base)
        // On someone else's server, drop what we created when the process exits.
        if server == nil { TestCleanup.registerDatabase(name, adminDSN: base) }
        return dsn
    }

    /// A DSN for a new, empty database on this (private) server.
    func freshDatabase(_ label: String) throws -> String {
        try Self.createDatabase("naksha_test_\(label)_\(Self.nextDatabaseNumber(self))", adminDSN: adminDSN)
    }

    private static let counterLock = NSLock()
    nonisolated(unsafe) private static var counter = 0
    private static func nextDatabaseNumber(_ server: TestPostgres?) -> Int {
        counterLock.lock()
        defer { counterLock.unlock() }
        counter += 1
        return counter
    }

    /// CREATE DATABASE with a name made here (letters, digits, underscores only).
    private static func createDatabase(_ name: String, adminDSN: String) throws -> String {
        precondition(name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }, "test database names are plain identifiers")
        let connection = try PostgresConnection.connect(dsn: adminDSN, generation: 0).get()
        defer { connection.close() }
        try connection.execute("DROP DATABASE IF EXISTS \(name)", operation: "test_setup")
        try connection.execute("CREATE DATABASE \(name)", operation: "test_setup")
        return try ConnectionString.replacingDatabase(in: adminDSN, with: name)
    }

    // MARK: - Processes

    /// Runs a Postgres tool; as root through `runuser -u postgres` (initdb and postgres refuse
    /// to run as root), otherwise directly as the current user.
    /// Runs a Postgres tool as the `postgres` user when root (see `PostgresServer`).
    static func runAsPostgres(_ tool: String, _ arguments: [String], captureOutput: Bool = true) throws {
        try PostgresServer.runAsPostgres(tool, arguments, captureOutput: captureOutput)
    }

    /// Runs a program and waits for it (posix_spawn + waitpid; see `PostgresServer.run`).
    static func run(_ executable: String, _ arguments: [String], captureOutput: Bool = true) throws {
        try PostgresServer.run(executable, arguments, captureOutput: captureOutput)
    }

    static func makeTemporaryDirectory() throws -> String {
        var template = Array("/tmp/naksha-pg-XXXXXX".utf8CString)
        guard let pointer = mkdtemp(&template) else { throw TestSetupError.commandFailed("mkdtemp failed") }
        return String(cString: pointer)
    }

}

enum TestSetupError: Error, CustomStringConvertible {
    case commandFailed(String)
    case noServer

    var description: String {
        switch self {
        case .commandFailed(let message): return message
        case .noServer: return "no test Postgres server"
        }
    }
}

/// Stops every test server still running when the test process exits (atexit), so a
/// failing or interrupted suite leaves no postmaster or temp directory behind.
enum TestCleanup {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var directories: Set<String> = []
    nonisolated(unsafe) private static var installed = false

    static func register(_ directory: String) {
        lock.lock()
        defer { lock.unlock() }
        directories.insert(directory)
        installHandlersLocked()
    }

    private static func installHandlersLocked() {
        if !installed {
            installed = true
            atexit { TestCleanup.stopAll() }
            for signalNumber in [SIGINT, SIGTERM] {
                signal(signalNumber) { number in
                    TestCleanup.stopAll()
                    signal(number, SIG_DFL)
                    raise(number)
                }
            }
        }
    }

    nonisolated(unsafe) private static var databases: [(name: String, adminDSN: String)] = []

    /// A database created on an external server (DATABASE_URL); dropped at exit.
    static func registerDatabase(_ name: String, adminDSN: String) {
        lock.lock()
        defer { lock.unlock() }
        databases.append((name, adminDSN))
        installHandlersLocked()
    }

    static func unregister(_ directory: String) {
        lock.lock()
        defer { lock.unlock() }
        directories.remove(directory)
    }

    static func stopAll() {
        lock.lock()
        let all = directories
        directories.removeAll()
        let createdDatabases = databases
        databases.removeAll()
        lock.unlock()
        for database in createdDatabases {
            guard let connection = try? PostgresConnection.connect(dsn: database.adminDSN, generation: 0).get() else { continue }
            // The name was made by `freshDatabase` (plain identifier), never taken from input.
            _ = try? connection.execute("DROP DATABASE IF EXISTS \(database.name) WITH (FORCE)", operation: "test_cleanup")
            connection.close()
        }
        for directory in all {
            try? TestPostgres.runAsPostgres("pg_ctl", ["-D", directory + "/data", "-m", "immediate", "-w", "stop"])
            try? FileManager.default.removeItem(atPath: directory)
        }
    }
}

/// Waits for `condition` with a deadline (never a bare sleep as synchronisation).
func waitUntil(
    timeout: Duration = .seconds(10), pollEvery interval: Duration = .milliseconds(10),
    _ condition: () async throws -> Bool
) async throws -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while clock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: interval)
    }
    return try await condition()
}
