import Foundation
import NakshaTestSupport
import Testing

/// The `naksha` binary as a user runs it: real process, real files, exit codes.
@Suite struct CLITests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func naksha(_ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = try builtExecutable("naksha")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func sampleGraphsValidate() throws {
        let files = ["sample_rag.yaml", "research_review.yaml", "summarize.yaml"].map {
            Self.repositoryRoot.appendingPathComponent("graphs/\($0)").path
        }
        let result = try Self.naksha(["graph", "validate"] + files)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.components(separatedBy: ": ok").count == 4)
    }

    @Test func invalidGraphPrintsLineColumnAndSuggestionAndExitsOne() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).yaml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let yaml = """
            name: bad
            version: 1
            state:
              q: {type: string}
            nodes:
              retrieve: {type: transform, params: {expression: "state.q"}, writes: q}
            edges:
              - {from: START, to: retreive}
              - {from: retrieve, to: END}
            """
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try Self.naksha(["graph", "validate", path])
        #expect(result.status == 1)
        #expect(result.output.contains("line 8 column"), "\(result.output)")
        #expect(result.output.contains("did you mean \"retrieve\""), "\(result.output)")
    }

    @Test func wireInspectDecodesAGoldenFrame() throws {
        let hex = try String(
            contentsOf: Self.repositoryRoot.appendingPathComponent("Tests/NakshaWireTests/Golden/frame-call.hex"), encoding: .utf8)
        let result = try Self.naksha(["wire", "inspect", "--hex"], input: hex)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("kind=call"))
        #expect(result.output.contains("1 frame(s)"))
    }

    @Test func wireInspectReportsGarbageWithATypedError() throws {
        let result = try Self.naksha(["wire", "inspect", "--hex"], input: "47 45 54 20")
        #expect(result.status == 1)
        #expect(result.output.contains("badMagic"))
    }

    @Test func devStartsAClusterWithWorkersAndPostgresThenStops() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("naksha-dev-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        defer { DevClusterProcessTests.removeDevPostgres(dataDirectory: directory) }
        let result = try Self.naksha([
            "dev", "--exit", "--workers", "1", "--base-peer-port", "23711", "--base-http-port", "23721", "--base-worker-port", "23731",
            "--postgres-port", "23741", "--data-dir", directory,
        ])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("leader"), "\(result.output)")
        #expect(result.output.contains("worker w1"), "\(result.output)")
        #expect(result.output.contains("127.0.0.1:23741"), "the dev Postgres: \(result.output)")
        // A second start on the same directory works once the first is gone (the lock is released).
        let again = try Self.naksha([
            "dev", "--exit", "--workers", "0", "--base-peer-port", "23711", "--base-http-port", "23721", "--postgres-port", "23741",
            "--data-dir", directory,
        ])
        #expect(again.status == 0, "\(again.output)")
    }

    @Test func devRefusesATakenPort() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("naksha-dev-port-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(23752).bigEndian)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0)
        listen(listener, 1)
        let result = try Self.naksha(["dev", "--exit", "--base-peer-port", "23751", "--base-http-port", "23761", "--data-dir", directory])
        #expect(result.status == 1)
        #expect(result.output.contains("port 23752 (coordinator 2 peer port) is taken"), "\(result.output)")
    }

    @Test func migrateWithoutADatabaseSaysWhatIsMissing() throws {
        let result = try Self.naksha(["migrate", "--database-url", ""])
        #expect(result.status != 0)
        #expect(result.output.contains("DATABASE_URL"), "\(result.output)")
    }
}
