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

    @Test func devStartsAClusterChecksItAndSaysWhatIsNotBuilt() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("naksha-dev-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try Self.naksha(["dev", "--exit", "--base-peer-port", "23711", "--base-http-port", "23721", "--data-dir", directory])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("wire self-check: ok"))
        #expect(result.output.contains("cluster check: ok"), "\(result.output)")
        #expect(result.output.contains("leader node"))
        #expect(result.output.contains("not built yet"))
    }

    @Test func migrateWithoutADatabaseSaysWhatIsMissing() throws {
        let result = try Self.naksha(["migrate", "--database-url", ""])
        #expect(result.status != 0)
        #expect(result.output.contains("DATABASE_URL"), "\(result.output)")
    }
}
