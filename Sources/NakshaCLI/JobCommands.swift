import ArgumentParser
import Foundation
import NakshaProtocol
import SwiftProtobuf

/// `naksha submit FILE.yaml|GRAPH`: submits a job over the client protocol.
struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Submit a job: a registered graph by name, or a graph file.",
        discussion: """
            Examples:
              naksha submit sample_rag --input question="What is a lease?" --wait
              naksha submit graphs/slow_steps.yaml
              naksha submit summarize@2 --input-json input.json --priority 5
            An --input value is JSON when it parses as JSON (42, true, ["a"], {"k": 1}), else a
            string. Each submission carries an idempotency key (a new one unless
            --idempotency-key is given), so a retry after a lost answer is the same job.
            """
    )

    @Argument(help: "A registered graph's name (NAME or NAME@VERSION), or a graph YAML file.") var graph: String
    @Option(name: .customLong("input"), help: "An input field, KEY=VALUE (repeatable).") var inputs: [String] = []
    @Option(help: "A JSON file with the input object (--input fields are added to it).") var inputJson: String?
    @Option(help: "Higher runs first.") var priority: Int32 = 0
    @Option(help: "Jobs sharing a fairness key share its concurrency limit.") var fairnessKey: String?
    @Option(help: "Makes the submission idempotent across runs of this command.") var idempotencyKey: String?
    @Flag(help: "Wait for the job to finish, showing each task's progress.") var wait = false
    @Option(help: "Seconds --wait waits.") var timeout = 300
    @Flag(help: "Print JSON (the submission, or with --wait the finished job).") var json = false
    @OptionGroup var connection: ClientOptions

    func run() async throws {
        try await runClient {
            let client = try connection.client()
            defer { Task { await client.close() } }
            var request = Naksha_V1_SubmitJobRequest()
            let isFile = graph.hasSuffix(".yaml") || graph.hasSuffix(".yml") || FileManager.default.fileExists(atPath: graph)
            if isFile {
                guard let data = FileManager.default.contents(atPath: graph) else { throw CLIError("cannot read \(graph)") }
                request.graphYaml = String(decoding: data, as: UTF8.self)
            } else if let at = graph.lastIndex(of: "@") {
                guard let version = UInt32(graph[graph.index(after: at)...]), version > 0 else {
                    throw CLIError("\(graph): write NAME@VERSION with a version from 1 (`naksha graph list` shows them)")
                }
                request.graph = String(graph[..<at])
                request.graphVersion = version
            } else {
                request.graph = graph
            }
            request.inputJson = try Self.input(fields: inputs, file: inputJson)
            request.priority = priority
            request.fairnessKey = fairnessKey ?? ""
            request.idempotencyKey = idempotencyKey ?? ""
            let submitted = try await client.submitJob(request)
            guard wait else {
                if json {
                    print(JobText.jsonText(["id": "\(submitted.jobID)", "status": JobText.name(submitted.status), "existing": submitted.existing]))
                } else {
                    print("job \(submitted.jobID) \(JobText.name(submitted.status))\(submitted.existing ? " (submitted before with this idempotency key)" : "")")
                }
                return
            }
            if !json { print("job \(submitted.jobID) submitted; waiting (Ctrl-C stops waiting, not the job)") }
            let job = try await JobFollower(client: client, output: json ? nil : ProgressOutput()).follow(submitted.jobID, timeout: .seconds(timeout))
            print(json ? JobText.jsonText(JobText.object(job)) : JobText.render(job))
            if job.status == .failed || job.status == .cancelled { throw ExitCode(1) }
        }
    }

    /// The input object: the file's, then each KEY=VALUE.
    static func input(fields: [String], file: String?, extra: [String: Any] = [:]) throws -> String {
        var object: [String: Any] = extra
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
            guard let parsed = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw CLIError("\(file) is not a JSON object")
            }
            object = parsed
        }
        for field in fields {
            guard let equals = field.firstIndex(of: "="), equals != field.startIndex else {
                throw CLIError("--input \(field): write KEY=VALUE")
            }
            let key = String(field[..<equals])
            let text = String(field[field.index(after: equals)...])
            object[key] = (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) ?? text
        }
        guard !object.isEmpty else { return "" }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

/// `naksha job …`: one job.
struct JobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job",
        abstract: "Show, watch, cancel or resume one job.",
        subcommands: [Status.self, Watch.self, Cancel.self, Resume.self]
    )

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A job's status, tasks, error and state (the archive's copy once evicted).")
        @Argument(help: "The job id.") var id: UInt64
        @Flag(help: "Print the job as JSON.") var json = false
        @OptionGroup var connection: ClientOptions

        func run() async throws {
            try await runClient {
                let client = try connection.client()
                defer { Task { await client.close() } }
                let job = try await client.getJob(id)
                print(json ? JobText.jsonText(JobText.object(job)) : JobText.render(job))
            }
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a job's changes as they happen, until it finishes.",
            discussion: "Survives a coordinator going away: the watch resumes elsewhere after the last event seen.")
        @Argument(help: "The job id.") var id: UInt64
        @Option(help: "Start after this event id (resume an earlier watch).") var after: UInt64 = 0
        @Flag(help: "One JSON object per event.") var json = false
        @OptionGroup var connection: ClientOptions

        func run() async throws {
            try await runClient {
                let client = try connection.client()
                defer { Task { await client.close() } }
                for try await event in client.watchJob(id, afterEventID: after) {
                    if json {
                        print((try? event.jsonString()) ?? "{}")  // a generated message always encodes
                        continue
                    }
                    for change in event.changes {
                        switch change.change {
                        case .status(let status): print("event \(event.eventID): job \(id) \(JobText.name(status))")
                        case .task(let task):
                            print("event \(event.eventID): task \(task.taskID) \(task.node) \(JobText.name(task.state))" + (task.attempt > 1 ? " (attempt \(task.attempt))" : ""))
                        case nil: break
                        }
                    }
                    if event.missedEarlier { print("(events before \(event.eventID) were dropped from the job's bounded history)") }
                }
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a job: ready tasks are dropped, running ones stop at their next heartbeat.")
        @Argument(help: "The job id.") var id: UInt64
        @OptionGroup var connection: ClientOptions

        func run() async throws {
            try await runClient {
                let client = try connection.client()
                defer { Task { await client.close() } }
                let job = try await client.cancelJob(id)
                print("job \(id) \(JobText.name(job.status))")
            }
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume a job stopped at an interrupt, with input merged into its state.")
        @Argument(help: "The job id.") var id: UInt64
        @Option(name: .customLong("input"), help: "An input field, KEY=VALUE (repeatable; VALUE is JSON when it parses).") var inputs: [String] = []
        @Option(help: "A JSON file with the input object.") var inputJson: String?
        @OptionGroup var connection: ClientOptions

        func run() async throws {
            try await runClient {
                let client = try connection.client()
                defer { Task { await client.close() } }
                let job = try await client.resumeJob(id, inputJSON: try SubmitCommand.input(fields: inputs, file: inputJson))
                print("job \(id) \(JobText.name(job.status))")
            }
        }
    }
}

/// `naksha jobs list`.
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "jobs", abstract: "List jobs.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Jobs in memory, oldest first (finished jobs leave memory once archived).")
        @Option(help: "Only this status: queued, running, interrupted, succeeded, failed, cancelled.") var status: String?
        @Option(help: "Only this graph.") var graph: String?
        @Option(help: "At most this many (up to 1000).") var limit: UInt32 = 100
        @Option(help: "Start after this job id (the previous page's next cursor).") var after: UInt64 = 0
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var connection: ClientOptions

        func run() async throws {
            try await runClient {
                var request = Naksha_V1_ListJobsRequest()
                if let status {
                    guard let parsed = JobText.status(named: status) else {
                        throw CLIError("--status \(status): one of queued, running, interrupted, succeeded, failed, cancelled")
                    }
                    request.status = parsed
                }
                request.graph = graph ?? ""
                request.limit = limit
                request.afterJobID = after
                let client = try connection.client()
                defer { Task { await client.close() } }
                let page = try await client.listJobs(request)
                if json {
                    let jobs = page.jobs.map { job -> [String: Any] in
                        ["id": "\(job.id)", "status": JobText.name(job.status), "graph": job.graph, "graph_version": job.graphVersion,
                         "priority": job.priority, "created_ms": job.createdMs, "finished_ms": job.finishedMs == 0 ? NSNull() : job.finishedMs]
                    }
                    print(JobText.jsonText(["jobs": jobs, "next_cursor": page.nextCursor == 0 ? NSNull() as Any : "\(page.nextCursor)" as Any]))
                    return
                }
                print("ID        STATUS       GRAPH")
                for job in page.jobs {
                    print("\(job.id)".padding(toLength: 10, withPad: " ", startingAt: 0)
                        + JobText.name(job.status).padding(toLength: 13, withPad: " ", startingAt: 0) + "\(job.graph)@\(job.graphVersion)")
                }
                if page.nextCursor != 0 { print("more: --after \(page.nextCursor)") }
            }
        }
    }
}
