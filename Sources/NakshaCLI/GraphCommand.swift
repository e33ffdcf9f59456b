import ArgumentParser
import Foundation
import NakshaGraph
import NakshaProtocol

/// `naksha graph validate FILE…`: the same checks the coordinator runs when a graph is
/// registered, with every error's line and column. `register` and `list` talk to a cluster.
struct GraphCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Work with workflow graph definitions (YAML; see docs/graphs.md).",
        subcommands: [Validate.self, Register.self, List.self]
    )

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate graph files; prints every error with line and column, exits 1 if any.",
            discussion: "Subgraph references (name@version) are checked against the other files given."
        )

        @Argument(help: "Graph YAML files.")
        var files: [String]

        @Flag(help: "Print nothing for valid files.")
        var quiet = false

        func run() async throws {
            var texts: [(String, String)] = []
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw ValidationError("cannot read \(file)")
                }
                texts.append((file, String(decoding: data, as: UTF8.self)))
            }
            // Graphs given together may reference each other as subgraphs.
            var known: Set<GraphReference> = []
            for (file, text) in texts {
                if case .success(let graph) = GraphDefinition.check(yaml: text, fileName: file, knownGraphs: nil) {
                    known.insert(graph.reference)
                }
            }
            var failed = false
            for (file, text) in texts {
                let lines = GraphDefinition.validationLines(yaml: text, fileName: file, knownGraphs: known)
                if lines.isEmpty {
                    if !quiet { print("\(file): ok") }
                } else {
                    failed = true
                    for line in lines { print("\(file): \(line)") }
                }
            }
            if failed { throw ExitCode(1) }
        }
    }

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register graph files with the cluster (the same content twice is the same version).")
        @Argument(help: "Graph YAML files.") var files: [String]
        @OptionGroup var connection: ClientOptions

        func run() async throws {
            try await runClient {
                let client = try connection.client()
                defer { Task { await client.close() } }
                for file in files {
                    guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
                    let answer = try await client.registerGraph(yaml: String(decoding: data, as: UTF8.self), fileName: file)
                    print("\(file): \(answer.graph.name)@\(answer.graph.version) \(answer.created ? "registered" : "already registered") (\(answer.graph.contentHash.prefix(12)))")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Registered graphs (newest version of each), or every version of one.")
        @Argument(help: "A graph name: list all its versions.") var name: String?
        @OptionGroup var connection: ClientOptions

        func run() async throws {
            try await runClient {
                let client = try connection.client()
                defer { Task { await client.close() } }
                let graphs = try await client.listGraphs(name: name ?? "").graphs
                for graph in graphs {
                    print("\(graph.name)@\(graph.version)".padding(toLength: 32, withPad: " ", startingAt: 0) + graph.contentHash.prefix(12))
                }
            }
        }
    }
}
