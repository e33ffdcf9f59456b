import ArgumentParser
import Dispatch
import Foundation
import NakshaCoordinator
import NakshaCore
import NakshaStore
import NIOHTTP1
import Synchronization

/// `naksha dev`: a whole local cluster for development — three coordinators, N workers and a
/// throwaway Postgres (unless `DATABASE_URL` is given), as child processes on loopback, with
/// logs under the data directory. `make run` starts it detached, ingests `docs/` and asks a
/// question.
///
/// - `naksha dev [up]` runs in the foreground until Ctrl-C; `--detach` runs it in the
///   background and returns once it is ready. Children stop with it, even after a `kill -9`
///   of `naksha dev` (each child watches its parent; Postgres is stopped by a watchdog).
/// - `naksha dev stop | status | scale --workers N`.
/// - It refuses, saying why, when a port is taken or a dev cluster already runs in the
///   directory (a lock on `<data-dir>/dev.lock`).
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run a local cluster: three coordinators, workers and Postgres (what `make run` starts).",
        discussion: """
            naksha dev                      start in the foreground; Ctrl-C stops everything
            naksha dev up --detach          start in the background, return when ready
            naksha dev status               endpoints and one line per process
            naksha dev scale --workers 4    add or remove workers
            naksha dev restart c2           restart one process (c1…c3, w1…); see also cluster/local.sh
            naksha dev stop                 stop a detached cluster
            Logs: <data-dir>/node-N.log, worker-N.log, dev.log (detached); Postgres logs where `status` says.
            """
    )

    @Argument(help: "up (default), stop, status, scale or restart.") var action = "up"
    @Argument(help: "restart: the process, c1…c3 or w1….") var process: String?
    @Option(help: "Workers to run (scale: the new count).") var workers: Int?
    @Option(help: "Where logs and data live (kept across runs; `make clean` removes it).") var dataDir = ".naksha/dev"
    @Flag(help: "Delete the data directory's cluster state, logs and database first.") var fresh = false
    @Flag(help: "Start in the background and return once the cluster is ready.") var detach = false
    @Flag(help: "With --detach: if a dev cluster already runs in the directory, use it instead of refusing.") var reuse = false
    @Flag(help: "Stop again once everything is ready (a start-up check).") var exit = false
    @Option(help: "First coordinator peer port (members use consecutive ports).") var basePeerPort = 7401
    @Option(help: "First coordinator HTTP port.") var baseHttpPort = 8081
    @Option(help: "First coordinator client-protocol port (what --server names).") var baseClientPort = 7701
    @Option(help: "First worker HTTP port.") var baseWorkerPort = 9091
    @Option(help: "Port of the dev Postgres (unless DATABASE_URL is set).") var postgresPort = 7432
    @Option(help: "Graphs the coordinators register at start.") var graphsDir = "graphs"

    func run() async throws {
        try await runReporting {
            switch action {
            case "up": try await up()
            case "stop": try stop()
            case "status": try await status()
            case "scale": try scale()
            case "restart": try signalDev(write: process, to: paths.restartPath, what: "restart")
            default: throw CLIError("unknown action \"\(action)\"; use up, stop, status, scale or restart")
            }
        }
    }

    private var paths: DevPaths { DevPaths(directory: dataDir) }

    // MARK: up

    private func up() async throws {
        let count = workers ?? 2
        guard (0...32).contains(count) else { throw CLIError("--workers must be 0…32") }
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        if let running = paths.runningPID() {
            if detach && reuse {
                say("a dev cluster already runs in \(dataDir) (pid \(running)); using it\n")
                say(paths.readySummary() ?? "")
                return
            }
            let who = running > 0 ? "another naksha dev (pid \(running))" : "another naksha dev (starting or stopping)"
            throw CLIError("\(who) already runs in \(dataDir); stop it with `naksha dev stop --data-dir \(dataDir)`, or use another --data-dir")
        }
        if detach { return try await startDetached() }
        // Signals first: a Ctrl-C (or a `dev scale`) during start-up is held until the
        // cluster is up, then handled, so start-up is never cut off half-way.
        let signals = Self.signals([SIGINT, SIGTERM, SIGHUP])
        guard let lock = paths.lock() else { throw CLIError("another naksha dev already runs in \(dataDir) (\(paths.lockPath) is locked)") }
        defer { close(lock) }
        try "\(getpid())\n".write(toFile: paths.pidPath, atomically: true, encoding: .utf8)
        defer { paths.removeRunFiles() }
        let usePostgres = ProcessInfo.processInfo.environment["DATABASE_URL"].map(\.isEmpty) ?? true
        try checkPorts(workers: count, postgres: usePostgres)
        if fresh { try paths.removeState() }

        say("Naksha \(NakshaVersion.current) — local cluster in \(dataDir)\n")
        var postgres: LocalPostgres?
        var watchdog: pid_t?
        var databaseURL = ProcessInfo.processInfo.environment["DATABASE_URL"] ?? ""
        if usePostgres {
            say("starting Postgres on 127.0.0.1:\(postgresPort) (data in \(paths.postgresDirectory)) …")
            let server = try LocalPostgres.start(directory: paths.postgresDirectory, port: postgresPort)
            postgres = server
            databaseURL = server.url
            watchdog = try Self.spawnPostgresWatchdog(parent: getpid(), server: server)
        }
        defer {
            if let watchdog { kill(watchdog, SIGKILL) }
            do {
                try postgres?.stop()
            } catch {
                say("warning: the dev Postgres did not stop: \(error); stop it with pg_ctl -D \(postgres?.dataDirectory ?? "") stop")
            }
        }
        let cluster = LocalCluster(nodes: 3, basePeerPort: basePeerPort, baseHTTPPort: baseHttpPort, baseClientPort: baseClientPort, directory: dataDir)
        cluster.environment = ["DATABASE_URL": databaseURL]
        cluster.graphsDirectory = graphsDir
        cluster.baseWorkerHTTPPort = baseWorkerPort
        defer { cluster.stopAll() }
        say("starting three coordinators (client ports \(baseClientPort)-\(baseClientPort + 2), peer \(basePeerPort)-\(basePeerPort + 2), HTTP \(baseHttpPort)-\(baseHttpPort + 2)) …")
        try cluster.startAll()
        try await cluster.waitUntilReady(timeout: .seconds(90))
        if count > 0 { say("starting \(count) workers (HTTP \(baseWorkerPort)-\(baseWorkerPort + count - 1)) …") }
        for index in 1...max(count, 1) where count > 0 { try cluster.startWorker(index) }
        try await cluster.waitUntilWorkersReady(timeout: .seconds(90))
        let summary = await Self.summary(cluster, postgres: postgres, databaseURL: databaseURL, directory: dataDir)
        try summary.write(toFile: paths.readyPath, atomically: true, encoding: .utf8)
        say("\n" + summary)
        if exit { return }
        say("\nRunning until Ctrl-C.")
        await superviseUntilStopped(cluster, postgres: postgres, databaseURL: databaseURL, signals: signals)
        say("\nstopping the cluster …")
    }

    /// Waits for SIGINT or SIGTERM. A SIGHUP (from `naksha dev scale` or `naksha dev restart`)
    /// re-reads the wanted worker count and the process to restart.
    private func superviseUntilStopped(_ cluster: LocalCluster, postgres: LocalPostgres?, databaseURL: String, signals: AsyncStream<Int32>) async {
        for await signal in signals {
            guard signal == SIGHUP else { return }
            if let text = try? String(contentsOfFile: paths.restartPath, encoding: .utf8) {  // absent: no restart asked
                try? FileManager.default.removeItem(atPath: paths.restartPath)  // consumed
                await restart(text.trimmingCharacters(in: .whitespacesAndNewlines), in: cluster)
            }
            if let text = try? String(contentsOfFile: paths.scalePath, encoding: .utf8), let wanted = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {  // absent: no scale asked
                try? FileManager.default.removeItem(atPath: paths.scalePath)  // consumed
                for index in cluster.workers.keys.sorted() where index > wanted { cluster.stopWorker(index) }
                do {
                    for index in 1...max(wanted, 1) where wanted > 0 && cluster.workers[index] == nil { try cluster.startWorker(index) }
                    try await cluster.waitUntilWorkersReady()
                    say("scaled to \(wanted) workers")
                } catch {
                    say("scaling to \(wanted) workers failed: \(error)")
                }
            }
            let summary = await Self.summary(cluster, postgres: postgres, databaseURL: databaseURL, directory: dataDir)
            try? summary.write(toFile: paths.readyPath, atomically: true, encoding: .utf8)  // status shows the old list until the next change
        }
    }

    /// (Re)starts one process: `c1`…`c3` (a coordinator) or `w1`… (a worker); a running one is
    /// stopped gracefully first.
    private func restart(_ name: String, in cluster: LocalCluster) async {
        do {
            if name.hasPrefix("c"), let id = UInt64(name.dropFirst()), cluster.members[id] != nil {
                cluster.stop(id)
                try cluster.start(id)
                try await cluster.waitUntilReady(timeout: .seconds(60))
            } else if name.hasPrefix("w"), let index = Int(name.dropFirst()), index >= 1 {
                cluster.stopWorker(index)
                try cluster.startWorker(index)
                try await cluster.waitUntilWorkersReady()
            } else {
                say("restart: unknown process \(name) (c1…c3, w1…)")
                return
            }
            say("restarted \(name)")
        } catch {
            say("restarting \(name) failed: \(error)")
        }
    }

    /// Re-runs this command in the background (its own session, output to `dev.log`) and
    /// waits until it reports ready, or fails.
    private func startDetached() async throws {
        paths.removeRunFiles()
        var arguments = ["dev", "up", "--data-dir", dataDir, "--base-peer-port", "\(basePeerPort)", "--base-http-port", "\(baseHttpPort)",
            "--base-client-port", "\(baseClientPort)", "--base-worker-port", "\(baseWorkerPort)", "--postgres-port", "\(postgresPort)", "--graphs-dir", graphsDir]
        if let workers { arguments += ["--workers", "\(workers)"] }
        if fresh { arguments.append("--fresh") }
        let pid = try Self.spawnDetached(try LocalCluster.executable().path, arguments, log: paths.logPath)
        say("starting a dev cluster in the background (pid \(pid), log \(paths.logPath)) …")
        let deadline = ContinuousClock.now + .seconds(300)
        while ContinuousClock.now < deadline {
            if let summary = paths.readySummary() {
                say("")
                say(summary)
                say("\nStop it with: .build/debug/naksha dev stop   (or make stop)")
                return
            }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let log = (try? String(contentsOfFile: paths.logPath, encoding: .utf8)) ?? ""  // unreadable: reported without it
                throw CLIError("the dev cluster did not start:\n\(log.split(separator: "\n").suffix(15).joined(separator: "\n"))")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw CLIError("the dev cluster was not ready within 5 minutes; see \(paths.logPath)")
    }

    private func checkPorts(workers count: Int, postgres: Bool) throws {
        var ports: [(Int, String)] = []
        for index in 0..<3 {
            ports.append((basePeerPort + index, "coordinator \(index + 1) peer port"))
            ports.append((baseHttpPort + index, "coordinator \(index + 1) HTTP port"))
            ports.append((baseClientPort + index, "coordinator \(index + 1) client port"))
        }
        for index in 0..<count { ports.append((baseWorkerPort + index, "worker w\(index + 1) HTTP port")) }
        // A Postgres left running in our own directory (a crash during start-up) is ours:
        // LocalPostgres stops it before starting again.
        let ownLeftover = FileManager.default.fileExists(atPath: paths.postgresDirectory + "/data/postmaster.pid")
        if postgres && !ownLeftover { ports.append((postgresPort, "Postgres port")) }
        for (port, what) in ports where !Self.isFree(port) {
            throw CLIError("port \(port) (\(what)) is taken; stop what uses it, or choose other ports (naksha dev --help)")
        }
    }

    // MARK: stop, status, scale

    private func stop() throws {
        guard let pid = paths.runningPID() else {
            say("no dev cluster runs in \(dataDir)")
            return
        }
        guard pid > 1 else { throw CLIError("a naksha dev in \(dataDir) is starting or stopping; try again in a moment") }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(120)
        while (kill(pid, 0) == 0 || paths.runningPID() != nil), Date() < deadline { usleep(100_000) }
        guard kill(pid, 0) != 0 else { throw CLIError("naksha dev (pid \(pid)) did not stop within 2 minutes") }
        say("stopped the dev cluster in \(dataDir) (pid \(pid))")
    }

    private func status() async throws {
        guard let pid = paths.runningPID(), let summary = paths.readySummary() else {
            say("no dev cluster runs in \(dataDir) (start one with `naksha dev` or `make run`)")
            throw ExitCode(3)
        }
        say("naksha dev (pid \(pid)) in \(dataDir)\n")
        say(summary)
        if let report = try? await GatewayClient(server: "127.0.0.1:\(baseHttpPort)").json(ClusterStatusReport.self, .GET, "/v1/cluster") {
            say("\n" + ClusterCommand.render(report))
        }
    }

    /// Writes `value` to `path` and sends SIGHUP to the running `naksha dev`.
    private func signalDev(write value: String?, to path: String, what: String) throws {
        guard let value, !value.isEmpty else { throw CLIError("\(what) needs a process name: c1…c3 or w1…") }
        guard let pid = paths.runningPID() else { throw CLIError("no dev cluster runs in \(dataDir)") }
        guard pid > 1 else { throw CLIError("the naksha dev in \(dataDir) is starting or stopping; try again in a moment") }
        try "\(value)\n".write(toFile: path, atomically: true, encoding: .utf8)
        kill(pid, SIGHUP)
        say("asked naksha dev (pid \(pid)) to \(what) \(value); `naksha dev status` shows the processes")
    }

    private func scale() throws {
        guard let wanted = workers, (0...32).contains(wanted) else { throw CLIError("scale needs --workers N (0…32)") }
        guard let pid = paths.runningPID() else { throw CLIError("no dev cluster runs in \(dataDir)") }
        guard pid > 1 else { throw CLIError("the naksha dev in \(dataDir) is starting or stopping; try again in a moment") }
        try "\(wanted)\n".write(toFile: paths.scalePath, atomically: true, encoding: .utf8)
        kill(pid, SIGHUP)
        say("asked naksha dev (pid \(pid)) to run \(wanted) workers; `naksha dev status` shows them")
    }

    // MARK: helpers

    static func summary(_ cluster: LocalCluster, postgres: LocalPostgres?, databaseURL: String, directory: String) async -> String {
        var lines = ["Endpoints:"]
        lines.append("  client protocol  \(cluster.clientAddresses.joined(separator: ",")) (naksha --server, NAKSHA_SERVER; any coordinator)")
        lines.append("  HTTP job API     http://127.0.0.1:\(cluster.members[1]?.httpPort ?? 0)/v1/jobs (any coordinator)")
        lines.append("  Postgres         \(postgres == nil ? "DATABASE_URL (given)" : databaseURL)")
        lines.append("")
        lines.append("PROCESS        PID      ADDRESS                                   STATE")
        let report = try? await GatewayClient(server: cluster.members[1]?.http ?? "").json(ClusterStatusReport.self, .GET, "/v1/cluster")
        for member in cluster.members.values.sorted(by: { $0.id < $1.id }) {
            let role = report?.members.first { $0.id == member.id }?.role ?? "running"
            lines.append(row("coordinator \(member.id)", member.process, "client :\(member.clientPort) peer :\(member.peerPort) http :\(member.httpPort)", role))
        }
        for worker in cluster.workers.values.sorted(by: { $0.index < $1.index }) {
            lines.append(row("worker \(worker.id)", worker.process, "http 127.0.0.1:\(worker.httpPort)", "ready"))
        }
        if let postgres { lines.append(row("postgres", nil, "127.0.0.1:\(postgres.port)", "running", pid: postgres.postmasterPID)) }
        lines.append("")
        lines.append("Logs: \(directory)/node-N.log, \(directory)/worker-N.log\(postgres.map { ", \($0.logPath)" } ?? "")")
        return lines.joined(separator: "\n")
    }

    private static func row(_ name: String, _ process: Process?, _ address: String, _ state: String, pid: Int32? = nil) -> String {
        let shown = process.map { "\($0.processIdentifier)" } ?? pid.map { "\($0)" } ?? "-"
        return name.padding(toLength: 15, withPad: " ", startingAt: 0) + shown.padding(toLength: 9, withPad: " ", startingAt: 0)
            + address.padding(toLength: 42, withPad: " ", startingAt: 0) + state
    }

    static func isFree(_ port: Int) -> Bool {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { return false }
        defer { close(socketFD) }
        var reuse: Int32 = 1
        setsockopt(socketFD, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// Spawns `executable` in a new session (so it outlives this process and its terminal),
    /// stdin from /dev/null, output appended to `log`.
    static func spawnDetached(_ executable: String, _ arguments: [String], log: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, 0x80)  // POSIX_SPAWN_SETSID (glibc 2.26+), not exported to Swift
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard result == 0 else { throw CLIError("cannot start \(executable): error \(result)") }
        return pid
    }

    /// A detached shell that stops the dev Postgres (its postmaster, by pid: SIGINT is a fast
    /// shutdown) once `parent` is gone — however it went. A clean exit kills the watchdog
    /// first, so it never stops a Postgres that a later `naksha dev` started.
    static func spawnPostgresWatchdog(parent: pid_t, server: LocalPostgres) throws -> pid_t? {
        guard let postmaster = server.postmasterPID else { return nil }
        let script = "while kill -0 \(parent) 2>/dev/null; do sleep 1; done; kill -INT \(postmaster) 2>/dev/null"
        return try spawnDetached("/bin/sh", ["-c", script], log: "/dev/null")
    }

    /// The signals as an async sequence (they are ignored by default handling meanwhile).
    static func signals(_ numbers: [Int32]) -> AsyncStream<Int32> {
        AsyncStream { continuation in
            var sources: [any DispatchSourceSignal] = []
            for number in numbers {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .main)
                source.setEventHandler { continuation.yield(number) }
                source.resume()
                sources.append(source)
            }
            let held = Mutex(sources)
            continuation.onTermination = { _ in held.withLock { for source in $0 { source.cancel() } } }
        }
    }
}

/// The files `naksha dev` keeps in its data directory.
struct DevPaths {
    let directory: String
    var lockPath: String { "\(directory)/dev.lock" }
    var pidPath: String { "\(directory)/dev.pid" }
    var readyPath: String { "\(directory)/dev.ready" }
    var scalePath: String { "\(directory)/dev.workers" }
    var restartPath: String { "\(directory)/dev.restart" }
    var logPath: String { "\(directory)/dev.log" }
    /// The dev Postgres's directory: `<data-dir>/postgres`, except as root, where the server
    /// runs as the `postgres` user, who may not be able to reach the data directory (a clone
    /// in `/root` is private): then `/var/tmp/naksha-dev-postgres-<digest of the data dir>`.
    var postgresDirectory: String {
        let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
        guard getuid() == 0 else { return absolute + "/postgres" }
        return "/var/tmp/naksha-dev-postgres-" + SHA256.hexDigest(Array(absolute.utf8)).prefix(12)
    }

    /// Takes the directory's lock (held while the returned descriptor is open), or nil when
    /// another process holds it.
    func lock() -> Int32? {
        // Close-on-exec: a child (a coordinator, the Postgres watchdog) must not inherit the
        // lock and so hold it after this process is gone.
        let descriptor = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return nil }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            return nil
        }
        return descriptor
    }

    /// The pid of the `naksha dev` that holds the lock, or nil when none runs; -1 when one
    /// holds the lock but has not written its pid yet (never signal that).
    func runningPID() -> pid_t? {
        if let descriptor = lock() {
            close(descriptor)
            return nil
        }
        let text = (try? String(contentsOfFile: pidPath, encoding: .utf8)) ?? ""  // starting up: no pid file yet
        return pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    func readySummary() -> String? { try? String(contentsOfFile: readyPath, encoding: .utf8) }  // absent: not ready

    func removeRunFiles() {
        for path in [pidPath, readyPath, scalePath, restartPath] { try? FileManager.default.removeItem(atPath: path) }  // absent: nothing to remove
    }

    /// `--fresh`: cluster state, logs and database go; the lock file stays.
    func removeState() throws {
        if FileManager.default.fileExists(atPath: postgresDirectory) { try FileManager.default.removeItem(atPath: postgresDirectory) }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name != "dev.lock" && name != "dev.log" && name != "dev.pid" {
            try FileManager.default.removeItem(atPath: "\(directory)/\(name)")
        }
    }
}

/// `print`, flushed at once: a detached `naksha dev` writes to a file, which would otherwise
/// hold its lines in a buffer until exit.
func say(_ text: String = "") {
    print(text)
    fflush(nil)
}
