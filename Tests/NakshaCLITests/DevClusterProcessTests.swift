import Foundation
import NakshaCore
import NakshaTestSupport
import Testing

/// `make run`'s path, headless (issue 19, item 5): `naksha dev up --detach` starts three
/// coordinators, two workers and a Postgres; `naksha ingest` stores a small corpus;
/// `naksha ask` answers from it with its sources, and says "not found in the documents" for
/// a question the corpus does not answer. Then `kill -9` of `naksha dev` takes every child
/// with it.
@Suite(.serialized) struct DevClusterProcessTests {
    static let corpus: [String: String] = [
        "lighthouses.md": """
            # Lighthouse keeping

            A lighthouse keeper trims the lamp wick every evening and winds the clockwork that turns the lens.
            In foggy weather the keeper sounds the fog signal every thirty seconds until the fog lifts.

            ## Logs

            Each keeper writes the weather and every passing ship into the station log before dawn.
            """,
        "sourdough.md": """
            # Sourdough

            A sourdough starter is fed with equal weights of flour and water once a day.
            The dough rests overnight in a cool place so that the wild yeast can rise slowly.
            """,
    ]

    struct Run {
        var status: Int32
        var output: String
    }

    /// Runs `naksha` with `arguments` in `directory` and waits for it (posix_spawn + waitpid:
    /// Foundation's `Process` can miss the exit of a child that left a detached grandchild
    /// running, as `naksha dev up --detach` does).
    static func naksha(_ arguments: [String], in directory: String) throws -> Run {
        let executable = try CoordinatorProcessTests.nakshaBinary().path
        let outputPath = "\(directory)/cmd-\(UUID().uuidString).out"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, executable, &actions, nil, argv, environ) == 0 else { throw CoordinatorProcessTests.CLIProcessError("cannot run naksha") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return Run(status: exitStatus, output: (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
    }

    /// The first of `count` consecutive free loopback ports.
    static func consecutivePorts(_ count: Int) throws -> Int {
        for _ in 0..<200 {
            let base = try stableLoopbackPort()
            if base + count < 32_000, (0..<count).allSatisfy({ isFreeLoopbackPort(base + $0) }) { return base }
        }
        throw CoordinatorProcessTests.CLIProcessError("no \(count) consecutive free ports")
    }

    /// Removes the dev Postgres of `naksha dev --data-dir dataDirectory`: as root it lives
    /// outside the data directory (`DevPaths.postgresDirectory`), so removing that leaves it.
    static func removeDevPostgres(dataDirectory: String) {
        guard getuid() == 0 else { return }
        let absolute = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        try? FileManager.default.removeItem(atPath: "/var/tmp/naksha-dev-postgres-" + SHA256.hexDigest(Array(absolute.utf8)).prefix(12))
    }

    @Test("dev up --detach, ingest (twice: the second skips), ask with sources, ask about something absent, refuse a second dev, kill -9 takes the children")
    func makeRunPathHeadless() async throws {
        let directory = try CoordinatorProcessTests.ProcessCluster.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        defer { Self.removeDevPostgres(dataDirectory: "\(directory)/dev") }
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: "\(directory)/corpus", withIntermediateDirectories: true)
        for (name, text) in Self.corpus { try text.write(toFile: "\(directory)/corpus/\(name)", atomically: true, encoding: .utf8) }
        var taken: Set<Int> = []
        let ports = (0..<4).compactMap { _ in try? stableLoopbackPort(avoiding: &taken) }
        let base = try Self.consecutivePorts(12)
        // The client protocol, every coordinator: ingest and ask submit and watch over it.
        let server = (9..<12).map { "127.0.0.1:\(base + $0)" }.joined(separator: ",")
        let up = try Self.naksha(
            ["dev", "up", "--detach", "--data-dir", "\(directory)/dev", "--workers", "2", "--base-peer-port", "\(base)", "--base-http-port", "\(base + 3)",
             "--base-worker-port", "\(base + 6)", "--base-client-port", "\(base + 9)", "--postgres-port", "\(ports[0])", "--graphs-dir", "\(repository)/graphs"],
            in: directory)
        let devPID = pid_t((try? String(contentsOfFile: "\(directory)/dev/dev.pid", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
        defer {
            if let devPID { kill(devPID, SIGTERM) }
        }
        #expect(up.status == 0, "dev up: \(up.output)")
        #expect(up.output.contains("worker w2"))

        let second = try Self.naksha(["dev", "up", "--data-dir", "\(directory)/dev", "--exit"], in: directory)
        #expect(second.status != 0)
        #expect(second.output.contains("already runs in"), "a second dev in the same directory is refused: \(second.output)")

        let ingest = try Self.naksha(["ingest", "\(directory)/corpus", "--collection", "docs", "--server", server], in: directory)
        #expect(ingest.status == 0, "ingest: \(ingest.output)")
        #expect(ingest.output.contains("skipped 0 already stored"))
        let again = try Self.naksha(["ingest", "\(directory)/corpus", "--collection", "docs", "--server", server], in: directory)
        #expect(again.output.contains("stored 0 chunks"), "a second ingest stores nothing again: \(again.output)")

        let ask = try Self.naksha(["ask", "How often does the keeper sound the fog signal in foggy weather?", "--server", server], in: directory)
        #expect(ask.status == 0, "ask: \(ask.output)")
        let lines = ask.output.split(separator: "\n").map(String.init)
        let answer = try #require(lines.first { $0.hasPrefix("Answer:") }, "\(ask.output)")
        #expect(answer.contains("thirty seconds"), "the answer comes from the document: \(answer)")
        let sources = try #require(lines.firstIndex { $0.hasPrefix("Sources:") }, "\(ask.output)")
        #expect(lines.dropFirst(sources + 1).first?.contains("corpus/lighthouses.md") == true, "the answer cites the document it came from:\n\(ask.output)")

        let absent = try Self.naksha(["ask", "What is the boiling point of liquid nitrogen in kelvin?", "--server", server], in: directory)
        #expect(absent.status == 0)
        #expect(absent.output.contains("not found in the documents"), "an absent fact is not invented:\n\(absent.output)")

        // kill -9 of naksha dev: its children notice and stop; the watchdog stops Postgres.
        let summary = try String(contentsOfFile: "\(directory)/dev/dev.ready", encoding: .utf8)
        let children = summary.split(separator: "\n").filter { $0.hasPrefix("coordinator") || $0.hasPrefix("worker") }
            .compactMap { line in line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).first.flatMap { pid_t($0) } }
        #expect(children.count == 5, "three coordinators and two workers: \(summary)")
        let postmaster = summary.split(separator: "\n").first { $0.hasPrefix("postgres") }
            .flatMap { line in line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { pid_t($0) } }
        #expect(postmaster != nil, "the summary names the Postgres pid: \(summary)")
        let pid = try #require(devPID)
        kill(pid, SIGKILL)
        let gone = await CoordinatorProcessTests.waitUntil(timeout: .seconds(30)) { children.allSatisfy { kill($0, 0) != 0 } }
        #expect(gone, "every child exited after naksha dev was killed")
        let postgresStopped = await CoordinatorProcessTests.waitUntil(timeout: .seconds(30)) {
            postmaster.map { kill($0, 0) != 0 } ?? false
        }
        #expect(postgresStopped, "the dev Postgres stopped with it")
    }
}
