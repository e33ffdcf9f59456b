import ArgumentParser
import Foundation
import NakshaProtocol

/// `naksha ask`: runs the sample RAG graph on a question, shows each task's progress, and
/// prints the answer (`Answer: …`) and the documents it came from (`Sources:`).
struct AskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ask",
        abstract: "Ask the ingested documents a question (runs graphs/sample_rag.yaml).",
        discussion: "Example: naksha ask \"How does a worker learn that its job was cancelled?\""
    )

    @Argument(help: "The question.") var question: String
    @Option(help: "The graph to run; it takes `question` and writes `answer` and `docs`.") var graph = "sample_rag"
    @Option(help: "Seconds to wait for the answer.") var timeout = 120
    @Flag(help: "Print the finished job as JSON instead.") var json = false
    @OptionGroup var connection: ClientOptions

    func run() async throws {
        try await runClient {
            let client = try connection.client()
            defer { Task { await client.close() } }
            var request = Naksha_V1_SubmitJobRequest()
            request.graph = graph
            request.inputJson = try SubmitCommand.input(fields: [], file: nil, extra: ["question": question])
            // A fresh key per question (the client makes one): a submit retried after a lost
            // answer is still one job.
            let submitted = try await client.submitJob(request)
            if !json { print("job \(submitted.jobID): \(graph) — \(question)") }
            let job = try await JobFollower(client: client, output: json ? nil : ProgressOutput()).follow(submitted.jobID, timeout: .seconds(timeout))
            if json {
                print(JobText.jsonText(JobText.object(job)))
                return
            }
            guard job.status == .succeeded else {
                let error = job.hasError ? job.error.message : "status \(JobText.name(job.status))"
                throw CLIError("job \(submitted.jobID) \(JobText.name(job.status)): \(error)")
            }
            let state = JobText.parsed(job.stateJson) as? [String: Any] ?? [:]
            let answer = state["answer"] as? String ?? ""
            print("\nAnswer: \(answer)")
            let sources = Self.sources(answer: answer, docs: state["docs"] as? [[String: Any]] ?? [])
            print(sources.isEmpty ? "Sources: none (nothing in the documents answers it)" : "Sources:")
            for source in sources { print("  - \(source)") }
        }
    }

    /// The retrieved documents the answer cites as `[source]`; when it cites none (an answer
    /// that does not cite), every retrieved document, unless the answer says it found nothing.
    static func sources(answer: String, docs: [[String: Any]]) -> [String] {
        var retrieved: [String] = []
        for doc in docs {
            if let source = doc["source"] as? String, !retrieved.contains(source) { retrieved.append(source) }
        }
        let cited = retrieved.filter { answer.contains("[\($0)]") }
        if !cited.isEmpty { return cited }
        if answer.lowercased().contains("not found in the documents") { return [] }
        return retrieved
    }
}
