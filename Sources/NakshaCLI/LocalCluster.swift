import Foundation
import NIOHTTP1
import NakshaActors

/// A coordinator group of separate `naksha coordinator` processes on loopback, and optionally
/// `naksha worker` processes, started by this binary (for `naksha bench raft` and
/// `naksha dev`). Logs go to `<directory>/node-N.log` and `<directory>/worker-N.log`. Every
/// child gets `NAKSHA_PARENT_PID`, so it stops when this process dies, however it dies.
final class LocalCluster {
    struct Member {
        var id: UInt64
        var peerPort: Int
        var httpPort: Int
        /// The client-protocol port (`--client-port`).
        var clientPort: Int
        var dataDirectory: String
        var process: Process?
        var http: String { "127.0.0.1:\(httpPort)" }
        var client: String { "127.0.0.1:\(clientPort)" }
    }

    struct WorkerMember {
        var index: Int
        var httpPort: Int
        var process: Process?
        var id: String { "w\(index)" }
        var http: String { "127.0.0.1:\(httpPort)" }
    }

    let directory: String
    let snapshotEvery: UInt64?
    /// Extra arguments for every member (e.g. `--nio-executor`).
    var extraArguments: [String] = []
    /// Extra environment for every process (e.g. `DATABASE_URL`).
    var environment: [String: String] = [:]
    /// The graphs every coordinator registers at start (nil: the coordinator's default).
    var graphsDirectory: String?
    /// Extra arguments for every worker (e.g. `--concurrency 64`).
    var workerArguments: [String] = []
    /// The first worker's HTTP port; worker N listens on `baseWorkerHTTPPort + N - 1`.
    var baseWorkerHTTPPort = 9091
    private(set) var members: [UInt64: Member] = [:]
    private(set) var workers: [Int: WorkerMember] = [:]

    /// Member N (from 1) uses `basePeerPort + N - 1`, and so on; the client ports default to
    /// the peer ports plus 300 (7401 → 7701).
    init(nodes: Int, basePeerPort: Int, baseHTTPPort: Int, baseClientPort: Int? = nil, directory: String, snapshotEvery: UInt64? = nil) {
        self.directory = directory
        self.snapshotEvery = snapshotEvery
        for index in 0..<nodes {
            let id = UInt64(index + 1)
            members[id] = Member(
                id: id, peerPort: basePeerPort + index, httpPort: baseHTTPPort + index, clientPort: (baseClientPort ?? basePeerPort + 300) + index,
                dataDirectory: "\(directory)/node-\(id)")
        }
    }

    var peers: [UInt64: NodeAddress] {
        members.mapValues { NodeAddress(host: "127.0.0.1", port: $0.peerPort) }
    }

    /// Every coordinator's client address, for `NakshaClient`.
    var clientAddresses: [String] { members.values.sorted { $0.id < $1.id }.map(\.client) }

    var peerList: String {
        members.sorted { $0.key < $1.key }.map { "\($0.key)=127.0.0.1:\($0.value.peerPort)" }.joined(separator: ",")
    }

    static func executable() throws -> URL {
        let path = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        return URL(fileURLWithPath: path)
    }

    func start(_ id: UInt64) throws {
        guard var member = members[id] else { throw CLIError("no member \(id)") }
        try FileManager.default.createDirectory(atPath: member.dataDirectory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = try Self.executable()
        var arguments = [
            "coordinator", "--node-id", "\(id)", "--peers", peerList, "--data-dir", member.dataDirectory, "--http-port", "\(member.httpPort)",
            "--client-port", "\(member.clientPort)", "--log-level", "warning",
        ]
        if let snapshotEvery { arguments += ["--snapshot-every", "\(snapshotEvery)"] }
        if let graphsDirectory { arguments += ["--graphs-dir", graphsDirectory] }
        arguments += extraArguments
        process.arguments = arguments
        try launch(process, log: "\(directory)/node-\(id).log")
        member.process = process
        members[id] = member
    }

    private func launch(_ process: Process, log logPath: String) throws {
        var childEnvironment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        childEnvironment["NAKSHA_PARENT_PID"] = "\(getpid())"
        process.environment = childEnvironment
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardError = log
        process.standardOutput = log
        try process.run()
    }

    /// Starts worker `index` (id `w<index>`), pointed at every coordinator.
    func startWorker(_ index: Int) throws {
        var worker = workers[index] ?? WorkerMember(index: index, httpPort: baseWorkerHTTPPort + index - 1)
        guard worker.process?.isRunning != true else { return }
        let process = Process()
        process.executableURL = try Self.executable()
        let coordinators = members.values.sorted { $0.id < $1.id }.map { "127.0.0.1:\($0.peerPort)" }.joined(separator: ",")
        process.arguments = [
            "worker", "--id", worker.id, "--coordinators", coordinators, "--http-port", "\(worker.httpPort)", "--shutdown-grace", "5",
            "--log-level", "notice",
        ] + workerArguments
        try launch(process, log: "\(directory)/worker-\(index).log")
        worker.process = process
        workers[index] = worker
    }

    /// Stops worker `index` gracefully (SIGTERM: it finishes or releases its tasks).
    func stopWorker(_ index: Int) {
        if let process = workers[index]?.process { Self.stop(process, grace: 15) }
        workers[index] = nil
    }

    /// SIGTERM (and SIGCONT, in case it was paused), then SIGKILL after `grace` seconds.
    static func stop(_ process: Process, grace: Double) {
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, SIGTERM)
        kill(pid, SIGCONT)
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    /// Waits until every running worker answers `/readyz` with 200 (registered with a leader).
    func waitUntilWorkersReady(timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        for worker in workers.values.sorted(by: { $0.index < $1.index }) where worker.process?.isRunning == true {
            while true {
                if let answer = try? await GatewayClient(server: worker.http).request(.GET, "/readyz", timeout: .seconds(1)), answer.status == 200 {
                    break
                }
                guard worker.process?.isRunning == true else {
                    throw CLIError("worker \(worker.id) exited (status \(worker.process?.terminationStatus ?? -1)); see \(directory)/worker-\(worker.index).log")
                }
                guard ContinuousClock.now < deadline else { throw CLIError("worker \(worker.id) was not ready within \(timeout); see \(directory)/worker-\(worker.index).log") }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    func startAll() throws {
        for id in members.keys.sorted() { try start(id) }
    }

    /// Waits until every running member answers `/readyz` with 200.
    func waitUntilReady(timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        for member in members.values where member.process?.isRunning == true {
            while true {
                if let answer = try? await GatewayClient(server: member.http).request(.GET, "/readyz", timeout: .seconds(1)), answer.status == 200 {
                    break
                }
                guard member.process?.isRunning == true else {
                    throw CLIError("coordinator \(member.id) exited (status \(member.process?.terminationStatus ?? -1)); see \(directory)/node-\(member.id).log")
                }
                guard ContinuousClock.now < deadline else { throw CLIError("coordinator \(member.id) was not ready within \(timeout)") }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// Stops coordinator `id` gracefully (SIGTERM), if it runs.
    func stop(_ id: UInt64) {
        if let process = members[id]?.process { Self.stop(process, grace: 15) }
        members[id]?.process = nil
    }

    func kill9(_ id: UInt64) {
        guard let process = members[id]?.process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        members[id]?.process = nil
    }

    func stopAll() {
        for index in workers.keys.sorted() { stopWorker(index) }
        for member in members.values {
            if let process = member.process { Self.stop(process, grace: 15) }
        }
        for id in members.keys { members[id]?.process = nil }
    }

    deinit { stopAll() }
}
