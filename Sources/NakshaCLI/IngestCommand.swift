import ArgumentParser
import Foundation
import NakshaCore
import NakshaProtocol
import NakshaProviders
import NakshaStore

/// `naksha ingest`: chunks text files and stores them in a vector collection, through the
/// cluster (jobs of the `ingest_chunks` graph, so workers embed with the same model as the
/// graphs that query). A batch already ingested is not submitted twice: its idempotency key
/// is a digest of its chunks, so a second run finds the jobs of the first.
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Chunk documents (files, a JSONL file or SQL rows) and store them in a vector collection.",
        discussion: """
            Examples:
              naksha ingest docs README.md --collection docs
              naksha ingest --dir docs/ --collection docs
              naksha ingest --jsonl articles.jsonl --collection docs        (one {"id", "text", "source"?, "title"?} per line)
              naksha ingest --sql "SELECT id, body, url FROM articles" --collection docs   (DATABASE_URL; run read-only)
            Directories are read recursively (*.md, *.markdown, *.txt). Chunks are cut at sentence
            boundaries where possible; each chunk's id is a digest of its source and text, so a
            rerun skips what is stored and an interrupted run resumes. Needs running workers.
            """
    )

    @Argument(help: "Files or directories to ingest.") var paths: [String] = []
    @Option(help: "A directory to ingest (like a path argument).") var dir: [String] = []
    @Option(help: "A JSON Lines file: one object per line with \"id\" and \"text\" (or \"body\"), optional \"source\" and \"title\".")
    var jsonl: String?
    @Option(help: "A query returning id, body[, source] rows, run in a READ ONLY transaction on --database-url.") var sql: String?
    @Option(help: "Postgres for --sql. Env: DATABASE_URL.") var databaseURL: String?
    @Option(help: "The vector collection (a collection of the shard map, or else created by the first upsert).") var collection = "docs"
    @Option(help: "Chunks per job.") var batchSize = 16
    @Option(help: "Batches in flight at once.") var parallel = 4
    @Option(help: "The ingestion graph.") var graph = "ingest_chunks"
    @Option(help: "Create the collection in the shard map with this many shards when it does not exist (with --replicas, --index, --dimension).")
    var shards: UInt32?
    @Option(help: "Replicas per shard of a collection --shards creates.") var replicas: UInt32 = 1
    @Option(help: "Index of a collection --shards creates: flat, hnsw or int8.") var index = "flat"
    @Option(help: "Dimension of a collection --shards creates; default: the ingestion model's (1536 with OPENAI_KEY, else the offline 384).")
    var dimension: UInt32?
    @OptionGroup var connection: ClientOptions

    func run() async throws {
        try await runClient { try await ingestAll() }
    }

    /// One document to chunk: where it came from and its text.
    struct Document {
        var source: String
        var text: String
    }

    /// The documents the options name: files and directories, a JSONL file, or SQL rows.
    func documents() async throws -> (documents: [Document], origin: String) {
        let sources = [!(paths + dir).isEmpty, jsonl != nil, sql != nil].filter { $0 }.count
        guard sources == 1 else { throw CLIError("give one source: paths (or --dir), --jsonl FILE, or --sql QUERY") }
        if let jsonl { return (try Self.jsonlDocuments(jsonl), "\(jsonl)") }
        if let sql { return (try await sqlDocuments(sql), "rows of the query") }
        let files = try Self.files(paths + dir)
        guard !files.isEmpty else { throw CLIError("no .md, .markdown or .txt files under \((paths + dir).joined(separator: " "))") }
        var documents: [Document] = []
        for file in files {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw CLIError("cannot read \(file) as UTF-8 text") }
            documents.append(Document(source: file, text: text))
        }
        return (documents, "\(files.count) files")
    }

    /// Reads `{"id", "text" | "body", "source"?, "title"?}` per line; a bad line is an error
    /// naming its line number (nothing is ingested).
    static func jsonlDocuments(_ path: String) throws -> [Document] {
        guard let content = try? String(contentsOfFile: path, encoding: .utf8) else { throw CLIError("cannot read \(path) as UTF-8 text") }
        var documents: [Document] = []
        for (number, line) in content.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any] else {
                throw CLIError("\(path):\(number + 1): not a JSON object")
            }
            guard let text = (object["text"] ?? object["body"]) as? String else { throw CLIError("\(path):\(number + 1): needs \"text\" (a string)") }
            let id = (object["id"] as? String) ?? (object["id"] as? NSNumber)?.stringValue
            guard let id, !id.isEmpty else { throw CLIError("\(path):\(number + 1): needs \"id\" (a string or number)") }
            let source = object["source"] as? String ?? id
            let title = object["title"] as? String
            documents.append(Document(source: source, text: title.map { "# \($0)\n\n\(text)" } ?? text))
        }
        return documents
    }

    /// Runs `--sql` read-only: the first column is the id, the second the body, the optional
    /// third the source.
    func sqlDocuments(_ query: String) async throws -> [Document] {
        guard let url = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty else {
            throw CLIError("--sql needs a database: give --database-url or set DATABASE_URL")
        }
        let store = PostgresColdStore(configuration: try PostgresConfiguration.fromEnvironment(["DATABASE_URL": url]))
        defer { Task { await store.shutdown() } }
        let result: (columns: [String], rows: [[String?]])
        do {
            result = try await store.readOnlyRows(query)
        } catch {
            if error.sqlState == "25006" { throw CLIError("the query tries to write; --sql runs it read-only: give a SELECT") }
            throw CLIError("the query failed: \(error.serverMessage ?? error.message)")
        }
        guard result.columns.count >= 2 else {
            throw CLIError("the query returns \(result.columns.count) column(s); it must return id, body[, source]")
        }
        return result.rows.compactMap { row in
            guard let id = row[0], let body = row[1], !body.isEmpty else { return nil }
            return Document(source: (row.count > 2 ? row[2] : nil) ?? id, text: body)
        }
    }

    private func ingestAll() async throws {
        guard (1...256).contains(batchSize), (1...64).contains(parallel) else { throw CLIError("--batch-size must be 1…256 and --parallel 1…64") }
        let (documents, origin) = try await documents()
        let chunker = DocumentChunker()
        var chunks: [DocumentChunker.Chunk] = []
        for document in documents { chunks += chunker.chunks(source: document.source, text: document.text) }
        guard !chunks.isEmpty else { throw CLIError("\(origin) hold no text to ingest") }
        let batches = stride(from: 0, to: chunks.count, by: batchSize).map { Array(chunks[$0..<min($0 + batchSize, chunks.count)]) }
        print("ingesting \(origin) (\(documents.count) documents) as \(chunks.count) chunks in \(batches.count) batches into \"\(collection)\"")
        let client = try connection.client()
        defer { Task { await client.close() } }
        let generation = try await shardedCollection(client)
        var progress = ProgressBar(total: chunks.count)
        var skipped = 0
        var failures: [String] = []
        try await withThrowingTaskGroup(of: (Int, Bool, String?).self) { group in
            var next = 0
            func add() {
                guard next < batches.count else { return }
                let batch = batches[next]
                next += 1
                group.addTask { try await self.ingest(batch, with: client, generation: generation) }
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

    /// The shard map's collection: created when `--shards` is given and it does not exist.
    /// Returns its creation time (part of each batch's idempotency key, so a collection dropped
    /// and created again is filled again), or nil when it is not in the map (a mirrored one).
    private func shardedCollection(_ client: NakshaClient) async throws -> UInt64? {
        if let existing = try await client.listCollections().collections.first(where: { $0.name == collection }) {
            return existing.createdMs
        }
        guard let shards else { return nil }
        var create = Naksha_V1_CreateCollectionRequest()
        create.name = collection
        create.dimension = dimension ?? (ModelProviders.Settings.fromEnvironment(ProcessInfo.processInfo.environment).usesOpenAI ? 1536 : 384)
        create.metric = "cosine"
        create.index = index
        create.shards = shards
        create.replicas = replicas
        let created: Naksha_V1_Collection
        do {
            created = try await client.createCollection(create)
        } catch let error as RPCError where error.reason == "conflict" {
            // The cold store holds the name with another shape: a collection mirrored to every
            // worker from an earlier version (`make run` before sharding). Keep using it.
            print("note: \(error.message); ingesting into it as it is")
            return nil
        }
        print("created collection \"\(collection)\": \(created.shards) shards × \(created.replicas) replicas, \(created.dimension) dimensions, \(created.index)")
        return created.createdMs
    }

    /// Submits one batch and waits for it. Returns its size, whether it was ingested before,
    /// and the failure, if any.
    private func ingest(_ batch: [DocumentChunker.Chunk], with client: NakshaClient, generation: UInt64?) async throws -> (Int, Bool, String?) {
        let scope = generation.map { "\(collection)@\($0)" } ?? collection
        let key = "ingest:\(scope):" + SHA256.hexDigest(Array(batch.map(\.id).joined(separator: ",").utf8)).prefix(40)
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
    private let started = ContinuousClock.now

    init(total: Int) {
        self.total = total
    }

    mutating func advance(by count: Int, note: String? = nil) {
        done = min(total, done + count)
        let width = 30
        let filled = total == 0 ? width : width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let percent = total == 0 ? 100 : 100 * done / total
        let seconds = (ContinuousClock.now - started).inSeconds
        let rate = seconds > 0 ? Double(done) / seconds : 0
        let eta = rate > 0 && done < total ? " ETA \(Int((Double(total - done) / rate).rounded(.up)))s" : ""
        let line = "[\(bar)] \(done)/\(total) chunks \(percent)% \(String(format: "%.1f", rate)) vectors/s\(eta)" + (note.map { " (\($0))" } ?? "")
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
