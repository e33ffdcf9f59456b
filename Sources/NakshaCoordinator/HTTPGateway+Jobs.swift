import Foundation
import Hummingbird
import NakshaCore
import NakshaGraph
import NakshaRaft
import NakshaState
import NakshaStore

/// The job API (docs/api.md), on every coordinator, at `/v1/…` and at `/api/v1/…` (the path
/// the seed's smoke test uses). Writes go through the log at the leader; reads are
/// linearizable; bad input is answered 400, 404, 409, 413 or 422 and nothing is written.
extension HTTPGateway {
    /// The value of header `name` (case-insensitive), if present.
    static func header(_ request: Request, _ name: String) -> String? {
        let lowered = name.lowercased()
        return request.headers.first { $0.name.canonicalName == lowered }?.value
    }

    /// The largest request body the job API reads (a graph or a job's input).
    static let maxRequestBytes = 1 << 20
    /// The longest `?wait=` a request may hold.
    static let maxWait: Duration = .seconds(300)

    static func addJobRoutes(to router: Router<BasicRequestContext>, coordinator: Coordinator) {
        for prefix in ["v1", "api/v1"] {
            router.post("\(prefix)/jobs") { request, _ in
                try await handlingJobs { try await submit(request, coordinator: coordinator) }
            }
            router.get("\(prefix)/jobs") { request, _ in
                try await handlingJobs { try await list(request, coordinator: coordinator) }
            }
            router.get("\(prefix)/jobs/:id") { _, context in
                try await handlingJobs {
                    let id = try jobID(context)
                    if let rendered = try await coordinator.readState({ $0.job(id).map(JobJSON.job) }) { return rawJSON(rendered) }
                    if let archived = try await archivedJob(id, coordinator: coordinator) { return rawJSON(archived) }
                    return problem(.notFound, "unknownJob", "no job \(id)")
                }
            }
            router.delete("\(prefix)/jobs/:id") { _, context in
                try await handlingJobs {
                    let id = try jobID(context)
                    _ = try await coordinator.propose(.cancelJob(id))
                    return try await jobResponse(id, coordinator: coordinator, status: .ok)
                }
            }
            router.post("\(prefix)/jobs/:id/resume") { request, context in
                try await handlingJobs {
                    let id = try jobID(context)
                    var request = request
                    let body = try await readBody(&request)
                    var input: [String: GraphValue] = [:]
                    if !body.isEmpty {
                        let fields = try parseObject(body, what: "the resume body")
                        input = try inputField(fields) ?? [:]
                    }
                    _ = try await coordinator.propose(.resumeJob(ResumeJob(job: id, input: input)))
                    return try await jobResponse(id, coordinator: coordinator, status: .ok)
                }
            }
            router.get("\(prefix)/jobs/:id/events") { request, context in
                try await handlingJobs { try await events(request, context: context, coordinator: coordinator) }
            }
            router.post("\(prefix)/graphs") { request, _ in
                try await handlingJobs {
                    var request = request
                    let body = try await readBody(&request)
                    let outcome = try await coordinator.registerGraph(yaml: String(decoding: body, as: UTF8.self))
                    guard case .graphRegistered(let info, let created) = outcome else {
                        return problem(.internalServerError, "internal", "unexpected outcome \(outcome)")
                    }
                    return rawJSON(JobJSON.graphVersion(info), status: created ? .created : .ok)
                }
            }
            router.get("\(prefix)/graphs") { _, _ in
                try await handlingJobs {
                    let rendered = try await coordinator.readState { state in
                        JobJSON.array(state.graphNames.compactMap { state.graphVersions(named: $0).last.map(JobJSON.graphVersion) })
                    }
                    return rawJSON("{\"graphs\":\(rendered)}")
                }
            }
            router.get("\(prefix)/graphs/:name/versions") { _, context in
                try await handlingJobs {
                    let name = context.parameters.get("name") ?? ""
                    let versions = try await coordinator.readState { $0.graphVersions(named: name).map(JobJSON.graphVersion) }
                    guard !versions.isEmpty else { return problem(.notFound, "unknownGraph", "no graph named \"\(name)\" is registered") }
                    return rawJSON("{\"name\":\(JSONText.quoted(name)),\"versions\":\(JobJSON.array(versions))}")
                }
            }
        }
    }

    // MARK: Submit

    /// `POST /v1/jobs`: a JSON body `{"graph", "input", "idempotency_key", "priority",
    /// "fairness_key"}`, or the graph's YAML itself (run with an empty input). Answers 202 with
    /// `{"id", "status"}`; with `?wait=30s` it holds the request until the job ends (200) or
    /// the wait runs out (202).
    static func submit(_ request: Request, coordinator: Coordinator) async throws -> Response {
        var request = request
        let wait = try waitDuration(request.uri.queryParameters.get("wait").map { String($0) })
        let body = try await readBody(&request)
        let submit: SubmitJob
        let text = String(decoding: body, as: UTF8.self)
        if text.drop(while: { $0.isWhitespace }).first == "{" {
            let fields = try parseObject(body, what: "the job")
            guard let graph = fields["graph"] as? String, !graph.isEmpty else {
                throw JobRequestError(.unprocessableContent, "invalidInput", "the job needs \"graph\": the name of a registered graph (GET /v1/graphs lists them)")
            }
            submit = SubmitJob(
                graph: .named(graph, version: try typed(fields, "graph_version", as: Int.self, "an integer")),
                input: try inputField(fields) ?? [:],
                idempotencyKey: try typed(fields, "idempotency_key", as: String.self, "a string"),
                priority: try typed(fields, "priority", as: Int.self, "an integer") ?? 0,
                fairnessKey: try typed(fields, "fairness_key", as: String.self, "a string"))
        } else {
            let definition = try GraphDefinition.load(yaml: text, fileName: "request body")
            _ = definition
            submit = SubmitJob(
                graph: .inline(yaml: text, contentHash: SHA256.hexDigest(body)),
                idempotencyKey: header(request, "Idempotency-Key") ?? request.uri.queryParameters.get("idempotency_key").map { String($0) })
        }
        let outcome = try await coordinator.propose(.submitJob(submit))
        guard case .jobSubmitted(let id, _, let existing) = outcome else {
            return problem(.internalServerError, "internal", "unexpected outcome \(outcome)")
        }
        if let wait {
            let deadline = ContinuousClock.now + wait
            while ContinuousClock.now < deadline {
                if let status = await coordinator.localState({ $0.job(id)?.status }) ?? nil, status.isFinished { break }
                try Task.checkCancellation()
                await coordinator.stateChanged.wait(timeout: .milliseconds(200))
            }
        }
        let status = try await coordinator.readState { $0.job(id)?.status }
        var object = JobJSON.Object()
        object.set("id", "\(id)")
        object.set("status", status?.rawValue)
        object.set("existing", existing)
        return rawJSON(object.text, status: status?.isFinished == true && wait != nil ? .ok : .accepted)
    }

    static func list(_ request: Request, coordinator: Coordinator) async throws -> Response {
        let parameters = request.uri.queryParameters
        var status: JobStatus? = nil
        if let text = parameters.get("status") {
            guard let parsed = JobStatus(rawValue: text) else {
                throw JobRequestError(
                    .badRequest, "badRequest", "unknown status \"\(text)\" (\(JobStatus.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            status = parsed
        }
        let limit = min(max(parameters.get("limit", as: Int.self) ?? 100, 1), 1000)
        let cursor = try parameters.get("cursor").map { (text: String) -> JobID in
            guard let id = JobID(parsing: text) else { throw JobRequestError(.badRequest, "badRequest", "cursor \"\(text)\" is not a job id") }
            return id
        }
        let graph = parameters.get("graph").map { String($0) }
        let wanted = status
        let page = try await coordinator.readState { $0.jobs(status: wanted, graph: graph, limit: limit, after: cursor) }
        var object = JobJSON.Object()
        object.set("jobs", raw: JobJSON.array(page.jobs.map(JobJSON.summary)))
        object.set("next_cursor", page.nextCursor.map { "\($0)" })
        return rawJSON(object.text)
    }

    // MARK: Events

    /// `GET /v1/jobs/{id}/events`: a server-sent event stream of the job's changes. Each
    /// event's id is the Raft index of the entry that made it; `Last-Event-ID` (or
    /// `?after=`) resumes after that index with no gap and no duplicate, on any coordinator.
    /// The stream ends after the event that finishes the job.
    static func events(_ request: Request, context: BasicRequestContext, coordinator: Coordinator) async throws -> Response {
        let id = try jobID(context)
        let resumeText = header(request, "Last-Event-ID") ?? request.uri.queryParameters.get("after").map { String($0) }
        var after: UInt64? = nil
        if let resumeText {
            guard let index = UInt64(resumeText) else { throw JobRequestError(.badRequest, "badRequest", "Last-Event-ID \"\(resumeText)\" is not an event id") }
            after = index
        }
        let start = after
        guard try await coordinator.readState({ $0.job(id) != nil }) else {
            return problem(.notFound, "unknownJob", "no job \(id)")
        }
        let body = ResponseBody { writer in
            var last = start
            while !Task.isCancelled {
                let since = last
                guard let page = await coordinator.localState({ $0.events(of: id, after: since) }) ?? nil else {
                    try await writer.write(ByteBuffer(string: "event: gone\ndata: {\"job\":\"\(id)\",\"reason\":\"evicted\"}\n\n"))
                    break
                }
                if page.missedSome {
                    try await writer.write(ByteBuffer(string: ": some events before these were dropped (the job keeps a bounded history)\n\n"))
                }
                for event in page.events {
                    try await writer.write(ByteBuffer(string: "id: \(event.index)\nevent: job\ndata: \(JobJSON.event(event, job: id))\n\n"))
                    last = event.index
                }
                let finished = await coordinator.localState({ $0.job(id)?.status.isFinished ?? true }) ?? true
                if finished, page.events.isEmpty { break }
                if page.events.isEmpty {
                    try Task.checkCancellation()
                    await coordinator.stateChanged.wait(timeout: .milliseconds(500))
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    // MARK: Helpers

    struct JobRequestError: Error {
        var status: HTTPResponse.Status
        var code: String
        var message: String
        init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
            self.status = status
            self.code = code
            self.message = message
        }
    }

    static func handlingJobs(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await handling(body)
        } catch let error as JobRequestError {
            return problem(error.status, error.code, error.message)
        } catch let error as ClusterError {
            return problem(status(for: error.code), camelCase("\(error.code)"), error.message)
        } catch let error as GraphError {
            return problem(.unprocessableContent, "invalidGraph", "\(error)")
        }
    }

    /// `unknown_graph` → `unknownGraph`: the gateway's error codes are all lower camel case.
    static func camelCase(_ code: String) -> String {
        let parts = code.split(separator: "_")
        guard let first = parts.first else { return code }
        return String(first) + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    static func status(for code: ClusterError.Code) -> HTTPResponse.Status {
        switch code {
        case .unknownGraph, .unknownJob, .unknownTask, .unknownWorker, .unknownCollection: return .notFound
        case .invalidGraph, .invalidInput: return .unprocessableContent
        case .idempotencyConflict, .graphVersionConflict, .notCancellable, .notInterrupted, .staleLease: return .conflict
        case .outputTooLarge, .stateTooLarge: return .contentTooLarge
        case .invalidCommand, .malformedCommand: return .badRequest
        default: return .internalServerError
        }
    }

    static func readBody(_ request: inout Request) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxRequestBytes {
            throw JobRequestError(.contentTooLarge, "bodyTooLarge", "the body has \(length) bytes; the limit is \(maxRequestBytes)")
        }
        do {
            return Array(buffer: try await request.collectBody(upTo: maxRequestBytes))
        } catch {
            throw JobRequestError(.contentTooLarge, "bodyTooLarge", "the body is over the limit of \(maxRequestBytes) bytes")
        }
    }

    static func parseObject(_ body: [UInt8], what: String) throws -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw JobRequestError(.badRequest, "badRequest", "\(what) is not a JSON object")
        }
        return object
    }

    /// Field `key` as a `T`, nil when absent or null; anything else is `invalidInput` (a
    /// mistyped field is refused, never silently dropped).
    static func typed<T>(_ fields: [String: Any], _ key: String, as _: T.Type, _ what: String) throws -> T? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        // JSONSerialization gives JSON true/false as NSNumber too (of Objective-C type "c"):
        // refuse those for numbers.
        let isFlag = type(of: value) == Bool.self || (value as? NSNumber).map { String(cString: $0.objCType) == "c" } ?? false
        if T.self == Int.self, !isFlag, let number = value as? NSNumber,
            let exact = Int(exactly: number.doubleValue), Double(exact) == number.doubleValue
        {
            return exact as? T
        }
        if T.self == Double.self, !isFlag, let number = value as? NSNumber, number.doubleValue.isFinite {
            return number.doubleValue as? T
        }
        if T.self == String.self, let text = value as? String { return text as? T }
        throw JobRequestError(.unprocessableContent, "invalidInput", "\"\(key)\" must be \(what)")
    }

    /// The `"input"` field as graph values (nil when absent).
    static func inputField(_ fields: [String: Any]) throws -> [String: GraphValue]? {
        guard let input = fields["input"] else { return nil }
        guard input is [String: Any], let data = try? JSONSerialization.data(withJSONObject: input, options: [.sortedKeys]) else {
            throw JobRequestError(.unprocessableContent, "invalidInput", "\"input\" must be a JSON object")
        }
        guard case .map(let values) = try GraphValue(parsingJSON: String(decoding: data, as: UTF8.self)) else {
            throw JobRequestError(.unprocessableContent, "invalidInput", "\"input\" must be a JSON object")
        }
        return values
    }

    static func jobID(_ context: BasicRequestContext) throws -> JobID {
        guard let text = context.parameters.get("id"), let id = JobID(parsing: text) else {
            throw JobRequestError(.badRequest, "badRequest", "a job id is a number, such as /v1/jobs/42")
        }
        return id
    }

    /// A finished job from the archive (its JSON as archived, marked `"archived": true`), or
    /// nil without a cold store or when the archive does not have it.
    static func archivedJob(_ id: JobID, coordinator: Coordinator) async throws -> String? {
        guard let store = coordinator.coldStore, let job = try await store.archivedJob(id: "\(id)") else { return nil }
        let text = String(decoding: job.finalState, as: UTF8.self)
        guard text.hasPrefix("{") else { return nil }
        return "{\"archived\":true," + text.dropFirst()
    }

    static func jobResponse(_ id: JobID, coordinator: Coordinator, status: HTTPResponse.Status) async throws -> Response {
        guard let rendered = try await coordinator.readState({ $0.job(id).map(JobJSON.job) }) else {
            return problem(.notFound, "unknownJob", "no job \(id)")
        }
        return rawJSON(rendered, status: status)
    }

    static func waitDuration(_ text: String?) throws -> Duration? {
        guard let text, !text.isEmpty else { return nil }
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000)]
        for (suffix, millis) in units where text.hasSuffix(suffix) {
            if let value = Int64(text.dropLast(suffix.count)), value >= 0 {
                return min(.milliseconds(value * millis), maxWait)
            }
        }
        if let seconds = Int64(text), seconds >= 0 { return min(.seconds(seconds), maxWait) }
        throw JobRequestError(.badRequest, "badRequest", "?wait=\(text) is not a duration such as 30s, 500ms or 2m")
    }

    static func rawJSON(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: text + "\n")))
    }
}
