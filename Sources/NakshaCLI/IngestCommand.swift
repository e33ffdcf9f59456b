import ArgumentParser
import Foundation
import NakshaCore
import NakshaProtocol

/// `naksha ingest`: chunks text files and stores them in a vector collection, through the
/// cluster (jobs of the `ingest_chunks` graph, so workers embed with the same model as the
/// graphs that query). A batch already ingested is not submitted twice: its idempotency key
/// is a digest of its chunks, so a second run finds the jobs of the first.
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Chunk text files (Markdown, text) and store them in a vector collection.",
        discussion: """
            Example: naksha ingest docs README.md --collection docs
            Directories are read recursively (*.md, *.markdown, *.txt). Needs running workers.
            """
    )

    @Argument(help: "Files or directories to ingest.") var paths: [String]
    @Option(help: "The vector collection (created by the first upsert).") var collection = "docs"
    @Option(help: "Chunks per job.") var batchSize = 16
    @Option(help: "Batches in flight at once.") var parallel = 4
    @Option(help: "The ingestion graph.") var graph = "ingest_chunks"
    @OptionGroup var connection: ClientOptions

    func run() async throws {
        try await runClient { try await ingestAll() }
    }

    private func ingestAll() async throws {
        guard (1...256).contains(batchSize), (1...64).contains(parallel) else { throw CLIError("--batch-size must be 1…256 and --parallel 1…64") }
        let files = try Self.files(paths)
        guard !files.isEmpty else { throw CLIError("no .md, .markdown or .txt files under \(paths.joined(separator: " "))") }
        let chunker = DocumentChunker()
        var chunks: [DocumentChunker.Chunk] = []
        for file in files {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw CLIError("cannot read \(file) as UTF-8 text") }
            chunks += chunker.chunks(source: file, text: text)
        }
        let batches = stride(from: 0, to: chunks.count, by: batchSize).map { Array(chunks[$0..<min($0 + batchSize, chunks.count)]) }
        print("ingesting \(files.count) files as \(chunks.count) chunks in \(batches.count) batches into \"\(collection)\"")
        let client = try connection.client()
        defer { Task { await client.close() } }
        var progress = ProgressBar(total: chunks.count)
        var skipped = 0
        var failures: [String] = []
        try await withThrowingTaskGroup(of: (Int, Bool, String?).self) { group in
            var next = 0
            func add() {
                guard next < batches.count else { return }
                let batch = batches[next]
                next += 1
                group.addTask { try await self.ingest(batch, with: client) }
            }
            for _ in 0..<parallel { add() }
            while let (count, existing, failure) = try await group.next() {
                if existing { skipped += count }
                if let failure { failures.append(failure) }
                progress.advance(by: count, note: skipped > 0 ? "\(skipped) already stored" : nil)
                add()
            }
        }
        progress.finish()
        if !failures.isEmpty {
            throw CLIError("\(failures.count) batches failed; first: \(failures[0])")
        }
        print("stored \(chunks.count - skipped) chunks, skipped \(skipped) already stored, in collection \"\(collection)\"")
    }

    /// Submits one batch and waits for it. Returns its size, whether it was ingested before,
    /// and the failure, if any.
    private func ingest(_ batch: [DocumentChunker.Chunk], with client: NakshaClient) async throws -> (Int, Bool, String?) {
        let key = "ingest:\(collection):" + SHA256.hexDigest(Array(batch.map(\.id).joined(separator: ",").utf8)).prefix(40)
        let input: [String: Any] = [
            "collection": collection,
            "texts": batch.map { $0.title.isEmpty ? $0.text : "\($0.title): \($0.text)" },
            "ids": batch.map(\.id),
            "payloads": batch.map { ["source": $0.source, "title": $0.title, "text": $0.text] },
        ]
        // A batch whose earlier job failed is submitted again under a key derived from that
        // job, so a rerun retries it (and a rerun of the rerun finds the retry).
        var currentKey = key
        let inputJSON = String(decoding: try JSONSerialization.data(withJSONObject: input, options: [.sortedKeys]), as: UTF8.self)
        for _ in 0..<3 {
            var request = Naksha_V1_SubmitJobRequest()
            request.graph = graph
            request.inputJson = inputJSON
            request.idempotencyKey = currentKey
            let submitted = try await client.submitJob(request)
            let job = try await JobFollower(client: client, output: nil).follow(submitted.jobID, timeout: .seconds(300))
            if job.status == .succeeded { return (batch.count, submitted.existing, nil) }
            guard submitted.existing else {
                let error = job.hasError ? job.error.message : JobText.name(job.status)
                return (batch.count, false, "job \(submitted.jobID): \(error)")
            }
            currentKey = "\(key):after-\(submitted.jobID)"
        }
        return (batch.count, false, "the batch failed in three earlier runs; see the jobs under key \(key)")
    }

    static func files(_ paths: [String]) throws -> [String] {
        var files: [String] = []
        let extensions: Set<String> = ["md", "markdown", "txt"]
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw CLIError("\(path) does not exist") }
            if isDirectory.boolValue {
                let base = path.hasSuffix("/") ? String(path.dropLast()) : path
                let found = (FileManager.default.enumerator(atPath: base)?.allObjects as? [String] ?? [])
                    .filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
                files += found.map { "\(base)/\($0)" }
            } else {
                files.append(path)
            }
        }
        return files
    }
}

/// A progress bar on a terminal (redrawn in place), plain lines otherwise.
struct ProgressBar {
    let total: Int
    private(set) var done = 0
    private let isTerminal = isatty(STDOUT_FILENO) == 1
    private var lastLine = ContinuousClock.now - .seconds(10)

    init(total: Int) {
        self.total = total
    }

    mutating func advance(by count: Int, note: String? = nil) {
        done = min(total, done + count)
        let width = 30
        let filled = total == 0 ? width : width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let percent = total == 0 ? 100 : 100 * done / total
        let line = "[\(bar)] \(done)/\(total) chunks \(percent)%" + (note.map { " (\($0))" } ?? "")
        if isTerminal {
            print("\r\(line)", terminator: "")
            fflush(nil)
        } else if done == total || ContinuousClock.now - lastLine > .seconds(1) {
            print(line)
            lastLine = .now
        }
    }

    func finish() {
        if isTerminal { print("") }
    }
}
