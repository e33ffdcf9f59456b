import ArgumentParser
import Foundation
import NakshaProtocol
import SwiftProtobuf

/// `naksha query`: the nearest vectors of a collection, over the client protocol.
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Find the nearest vectors in a collection (scatter-gather over its shards).",
        discussion: """
            The vector is given as numbers, comma-separated or as a JSON array, or read from a file,
            or as text that the coordinator embeds (with --model, or the model `naksha ingest` uses).
            Examples:
              naksha query --collection docs --text "How are leases renewed?" --k 5
              naksha query --collection docs --vector 0.1,0.2,0.3 --k 5
              naksha query --collection docs --vector-file q.json --filter '{"lang": "en"}' --consistency read_your_writes
            """)

    @Option(help: "The collection.") var collection: String
    @Option(help: "The query vector: numbers separated by commas, or a JSON array.") var vector: String?
    @Option(help: "A file holding the query vector as a JSON array.") var vectorFile: String?
    @Option(help: "Text to embed as the query vector (instead of --vector).") var text: String?
    @Option(help: "The embedding model for --text (default: the coordinator's, as `naksha ingest` uses).") var model: String?
    @Option(help: "How many results.") var k: UInt32 = 10
    @Option(help: "A metadata filter as JSON, e.g. '{\"lang\": \"en\"}' (docs/vectors.md#filters).") var filter: String?
    @Option(help: "eventual or read_your_writes.") var consistency = "eventual"
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var connection: ClientOptions

    static func parseVector(_ text: String) throws -> [Float] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let body = trimmed.hasPrefix("[") && trimmed.hasSuffix("]") ? String(trimmed.dropFirst().dropLast()) : trimmed
        var values: [Float] = []
        for part in body.split(separator: ",") {
            guard let value = Float(part.trimmingCharacters(in: .whitespaces)), value.isFinite else {
                throw ValidationError("the vector holds \"\(part)\", which is not a number")
            }
            values.append(value)
        }
        guard !values.isEmpty else { throw ValidationError("the vector is empty") }
        return values
    }

    func run() async throws {
        let values: [Float]
        switch (vector, vectorFile, text) {
        case (let inline?, nil, nil): values = try Self.parseVector(inline)
        case (nil, let path?, nil):
            do { values = try Self.parseVector(try String(contentsOfFile: path, encoding: .utf8)) } catch let error as ValidationError { throw error } catch {
                throw ValidationError("cannot read \(path): \(error.localizedDescription)")
            }
        case (nil, nil, let query?):
            guard !query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw ValidationError("--text is empty") }
            values = []
        default: throw ValidationError("give the query as --vector, --vector-file or --text (one of them)")
        }
        try await runClient {
            let client = try connection.client()
            defer { Task { await client.close() } }
            var request = Naksha_V1_QueryVectorsRequest()
            request.collection = collection
            request.vector = values
            request.text = values.isEmpty ? text ?? "" : ""
            request.model = model ?? ""
            request.k = k
            request.filterJson = filter ?? ""
            request.consistency = consistency
            let answer = try await client.queryVectors(request)
            if json {
                print((try? answer.jsonString()) ?? "{}")  // a generated message always encodes
                return
            }
            for (rank, hit) in answer.results.enumerated() {
                var line = "\(rank + 1)".padding(toLength: 4, withPad: " ", startingAt: 0) + hit.id.padding(toLength: 28, withPad: " ", startingAt: 0)
                    + String(format: "%.6f", hit.score)
                if !hit.metadataJson.isEmpty { line += "  \(hit.metadataJson)" }
                print(line)
            }
            var notes = ["\(answer.results.count) result\(answer.results.count == 1 ? "" : "s")", answer.exact ? "exact" : "approximate"]
            if answer.partial { notes.append("PARTIAL: shards \(answer.missingShards.map(String.init).joined(separator: ", ")) had no replica answering") }
            print(notes.joined(separator: ", "))
        }
    }
}
