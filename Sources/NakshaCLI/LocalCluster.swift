import Foundation
import NIOHTTP1
import NakshaActors

/// A coordinator group of separate `naksha coordinator` processes on loopback, started by
/// this binary (for `naksha bench raft` and `naksha dev`). Logs go to `<directory>/node-N.log`.
final class LocalCluster {
    struct Member {
        var id: UInt64
        var peerPort: Int
        var httpPort: Int
        var dataDirectory: String
        var process: Process?
        var http: String { "127.0.0.1:\(httpPort)" }
    }

    let directory: String
    let snapshotEvery: UInt64?
    /// Extra arguments for every member (e.g. `--nio-executor`).
    var extraArguments: [String] = []
    private(set) var members: [UInt64: Member] = [:]

    init(nodes: Int, basePeerPort: Int, baseHTTPPort: Int, directory: String, snapshotEvery: UInt64? = nil) {
        self.directory = directory
        self.snapshotEvery = snapshotEvery
        for index in 0..<nodes {
            let id = UInt64(index + 1)
            members[id] = Member(
                id: id, peerPort: basePeerPort + index, httpPort: baseHTTPPort + index, dataDirectory: "\(directory)/node-\(id)")
        }
    }

    var peers: [UInt64: NodeAddress] {
        members.mapValues { NodeAddress(host: "127.0.0.1", port: $0.peerPort) }
    }

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
            "--log-level", "warning",
        ]
        if let snapshotEvery { arguments += ["--snapshot-every", "\(snapshotEvery)"] }
        arguments += extraArguments
        process.arguments = arguments
        let logPath = "\(directory)/node-\(id).log"
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardError = log
        process.standardOutput = log
        try process.run()
        member.process = process
        members[id] = member
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

    func kill9(_ id: UInt64) {
        guard let process = members[id]?.process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        members[id]?.process = nil
    }

    func stopAll() {
        for member in members.values {
            guard let process = member.process, process.isRunning else { continue }
            process.terminate()
            process.waitUntilExit()
        }
        for id in members.keys { members[id]?.process = nil }
    }

    deinit { stopAll() }
}
