import ArgumentParser
import Foundation

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
    @Option(help: "A coordinator's HTTP address. Env: NAKSHA_HTTP.") var server: String?
    @Option(help: "Seconds to wait for the answer.") var timeout = 120
    @Flag(help: "Print the finished job as JSON instead.") var json = false

    func run() async throws {
        let watcher = JobWatcher(gateway: GatewayClient(server: server ?? IngestCommand.defaultServer))
        // A fresh key per question: a submit retried after a lost answer is still one job.
        let submitted = try await watcher.submit(["graph": graph, "input": ["question": question], "idempotency_key": "ask-\(UUID().uuidString)"])
        if !json { print("job \(submitted.id): \(graph) — \(question)") }
        let job = try await watcher.wait(submitted.id, timeout: .seconds(timeout)) { node, state, task in
            guard !json else { return }
            var line = "  \(Self.mark(state)) \(node) \(state)"
            if let started = task["started_ms"] as? Int, let finished = task["finished_ms"] as? Int { line += " (\(finished - started) ms)" }
            if let error = task["error"] as? String, state != "succeeded" { line += " — \(error)" }
            print(line)
        }
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: job, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
            return
        }
        let status = job["status"] as? String ?? "unknown"
        guard status == "succeeded" else {
            let error = (job["error"] as? [String: Any])?["message"] as? String ?? "status \(status)"
            throw CLIError("job \(submitted.id) \(status): \(error)")
        }
        let state = job["state"] as? [String: Any] ?? [:]
        let answer = state["answer"] as? String ?? ""
        print("\nAnswer: \(answer)")
        let sources = Self.sources(answer: answer, docs: state["docs"] as? [[String: Any]] ?? [])
        print(sources.isEmpty ? "Sources: none (nothing in the documents answers it)" : "Sources:")
        for source in sources { print("  - \(source)") }
    }

    static func mark(_ state: String) -> String {
        switch state {
        case "succeeded": return "✓"
        case "failed", "deadLettered", "cancelled": return "✗"
        case "retrying": return "↻"
        default: return "…"
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
