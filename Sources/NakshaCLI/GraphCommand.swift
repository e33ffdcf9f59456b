import ArgumentParser
import Foundation
import NakshaGraph

/// `naksha graph validate FILE…`: the same checks the coordinator runs when a graph is
/// registered, with every error's line and column.
struct GraphCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Work with workflow graph definitions (YAML; see docs/graphs.md).",
        subcommands: [Validate.self]
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
}
