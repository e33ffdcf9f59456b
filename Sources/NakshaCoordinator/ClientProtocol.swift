import Foundation
import Logging
import NakshaActors
import NakshaCore
import NakshaGraph
import NakshaProtocol
import NakshaRaft
import NakshaState
import RaftCore
import ServiceLifecycle

/// The client protocol on the coordinator's client port (`docs/protocol.md`): the job API
/// of `HTTPGateway+Jobs` as `naksha.v1.Naksha` methods. Writes go through the log at the
/// leader (a follower forwards them), reads are linearizable, and typed errors become
/// status codes with the same reasons the HTTP API uses.
enum ClientProtocol {
    static func router(for coordinator: Coordinator) -> RPCRouter {
        var router = RPCRouter()
        router.mapError = { mapError($0) }
        let logger = coordinator.logger
        router.callEnded = { context, status in
            guard status.code != .ok else { return }
            // Failures a client cannot fix are worth a line; the trace id ties it to the
            // client's own trace.
            let level: Logger.Level = [.internal, .unknown].contains(status.code) ? .warning : .debug
            logger.log(
                level: level, "client call failed",
                metadata: [
                    "method": "\(context.method)", "code": "\(status.code.name)", "reason": "\(status.reason)", "message": "\(status.message)",
                    "peer": "\(context.peer)", "traceparent": "\(context.traceParent ?? "")",
                ])
        }
        if let tokens = coordinator.configuration.apiTokens {
            router.authorize = { context in
                guard let token = context.bearerToken else {
                    return RPCError(.unauthenticated, "send metadata authorization: Bearer TOKEN (this server requires an API token)", reason: "missing")
                }
                guard tokens.check(Array(token.utf8)) != nil else {
                    return RPCError(.unauthenticated, "the API token is not valid", reason: "invalid")
                }
                return nil
            }
        }
        router.unary(NakshaMethod.submitJob) { (request: Naksha_V1_SubmitJobRequest, context) in
            try await submit(request, context: context, coordinator: coordinator)
        }
        router.unary(NakshaMethod.getJob) { (request: Naksha_V1_GetJobRequest, context) in
            let id = try jobID(request.jobID)
            if let job = try await coordinator.readState(timeout: context.remaining(cap: .seconds(5)), { $0.job(id).map(JobProto.job) }) {
                return job
            }
            if let archived = try await HTTPGateway.archivedJob(id, coordinator: coordinator) { return JobProto.archived(id, json: archived) }
            throw RPCError(.notFound, "no job \(id)", reason: "unknownJob")
        }
        router.unary(NakshaMethod.cancelJob) { (request: Naksha_V1_CancelJobRequest, context) in
            let id = try jobID(request.jobID)
            _ = try await coordinator.propose(.cancelJob(id), timeout: context.remaining(cap: .seconds(10)))
            return try await current(id, coordinator: coordinator, context: context)
        }
        router.unary(NakshaMethod.resumeJob) { (request: Naksha_V1_ResumeJobRequest, context) in
            let id = try jobID(request.jobID)
            let input = try inputObject(request.inputJson, what: "input_json")
            _ = try await coordinator.propose(.resumeJob(ResumeJob(job: id, input: input)), timeout: context.remaining(cap: .seconds(10)))
            return try await current(id, coordinator: coordinator, context: context)
        }
        router.unary(NakshaMethod.listJobs) { (request: Naksha_V1_ListJobsRequest, context) in
            let status = try JobProto.status(request.status)
            let graph = request.graph.isEmpty ? nil : request.graph
            let limit = request.limit == 0 ? 100 : Int(min(request.limit, 1000))
            let after = request.afterJobID == 0 ? nil : JobID(rawValue: request.afterJobID)
            let page = try await coordinator.readState(timeout: context.remaining(cap: .seconds(5))) {
                $0.jobs(status: status, graph: graph, limit: limit, after: after)
            }
            var response = Naksha_V1_ListJobsResponse()
            response.jobs = page.jobs.map(JobProto.summary)
            response.nextCursor = page.nextCursor?.rawValue ?? 0
            return response
        }
        router.serverStream(NakshaMethod.watchJob) { (request: Naksha_V1_WatchJobRequest, context, writer: StreamWriter<Naksha_V1_JobEvent>) in
            try await watch(request, context: context, writer: writer, coordinator: coordinator)
        }
        router.unary(NakshaMethod.registerGraph) { (request: Naksha_V1_RegisterGraphRequest, _) in
            let outcome = try await coordinator.registerGraph(yaml: request.yaml, fileName: request.fileName.isEmpty ? "graph" : request.fileName)
            guard case .graphRegistered(let info, let created) = outcome else { throw RPCError(.internal, "unexpected outcome \(outcome)") }
            var response = Naksha_V1_RegisterGraphResponse()
            response.graph = JobProto.graphVersion(info)
            response.created = created
            return response
        }
        router.unary(NakshaMethod.listGraphs) { (request: Naksha_V1_ListGraphsRequest, context) in
            let name = request.name
            let versions = try await coordinator.readState(timeout: context.remaining(cap: .seconds(5))) { state in
                name.isEmpty
                    ? state.graphNames.compactMap { state.graphVersions(named: $0).last }
                    : state.graphVersions(named: name)
            }
            if !name.isEmpty, versions.isEmpty { throw RPCError(.notFound, "no graph named \"\(name)\" is registered", reason: "unknownGraph") }
            var response = Naksha_V1_ListGraphsResponse()
            response.graphs = versions.map(JobProto.graphVersion)
            return response
        }
        router.unary(NakshaMethod.clusterStatus) { (_: Naksha_V1_ClusterStatusRequest, _) in
            JobProto.clusterStatus(try await coordinator.clusterStatus())
        }
        addCollectionRoutes(to: &router, coordinator: coordinator)
        router.unary(NakshaMethod.health) { (_: Naksha_V1_HealthRequest, _) in
            let status = try await coordinator.node.status()
            var response = Naksha_V1_HealthResponse()
            response.nodeID = status.id
            response.status = status.ready ? .serving : .notServing
            if !status.ready {
                response.reason = status.leader == nil ? "no leader known (election in progress or no quorum)" : "catching up with the log"
            }
            return response
        }
        return router
    }

    // MARK: Methods

    static func submit(_ request: Naksha_V1_SubmitJobRequest, context: CallContext, coordinator: Coordinator) async throws -> Naksha_V1_SubmitJobResponse {
        let input = try inputObject(request.inputJson, what: "input_json")
        let graph: GraphSource
        switch (request.graph.isEmpty, request.graphYaml.isEmpty) {
        case (false, true):
            graph = .named(request.graph, version: request.graphVersion == 0 ? nil : Int(request.graphVersion))
        case (true, false):
            do {
                _ = try GraphDefinition.load(yaml: request.graphYaml, fileName: "graph_yaml")
            } catch {
                throw RPCError(.invalidArgument, "\(error)", reason: "invalidGraph")
            }
            graph = .inline(yaml: request.graphYaml, contentHash: SHA256.hexDigest(Array(request.graphYaml.utf8)))
        default:
            throw RPCError(.invalidArgument, "set exactly one of graph (a registered graph's name) and graph_yaml", reason: "invalidInput")
        }
        let submit = SubmitJob(
            graph: graph, input: input, idempotencyKey: request.idempotencyKey.isEmpty ? nil : request.idempotencyKey,
            priority: Int(request.priority), fairnessKey: request.fairnessKey.isEmpty ? nil : request.fairnessKey)
        let outcome = try await coordinator.propose(.submitJob(submit), timeout: context.remaining(cap: .seconds(10)))
        guard case .jobSubmitted(let id, let status, let existing) = outcome else { throw RPCError(.internal, "unexpected outcome \(outcome)") }
        var response = Naksha_V1_SubmitJobResponse()
        response.jobID = id.rawValue
        response.status = JobProto.status(status ?? .queued)
        response.existing = existing
        return response
    }

    /// Sends the job's events after `after_event_id` as they are applied, waiting against
    /// the reader's credit; ends after the event that finishes the job.
    static func watch(
        _ request: Naksha_V1_WatchJobRequest, context: CallContext, writer: StreamWriter<Naksha_V1_JobEvent>, coordinator: Coordinator
    ) async throws {
        let id = try jobID(request.jobID)
        // Linearizable once, so a job just submitted elsewhere is found.
        guard try await coordinator.readState(timeout: .seconds(5), { $0.job(id) != nil }) else {
            if try await HTTPGateway.archivedJob(id, coordinator: coordinator) != nil {
                throw RPCError(.failedPrecondition, "job \(id) is finished and archived: its events are gone (GetJob reads it)", reason: "archived")
            }
            throw RPCError(.notFound, "no job \(id)", reason: "unknownJob")
        }
        var last: UInt64? = request.afterEventID == 0 ? nil : request.afterEventID
        while true {
            try Task.checkCancellation()
            let since = last
            let read = await coordinator.localState { state -> (JobEventPage, [TaskID: String], Bool)? in
                guard let job = state.job(id), let page = state.events(of: id, after: since) else { return nil }
                var nodes: [TaskID: String] = [:]
                for task in job.tasks { nodes[task.id] = task.node }
                return (page, nodes, job.status.isFinished)
            }
            guard let (page, nodes, finished) = read ?? nil else {
                throw RPCError(.failedPrecondition, "job \(id) left this coordinator's memory (finished and archived); GetJob reads it", reason: "archived")
            }
            for (offset, event) in page.events.enumerated() {
                try await writer.send(JobProto.event(event, job: id, nodes: nodes, missedEarlier: offset == 0 && page.missedSome))
                last = event.index
            }
            if finished, page.events.isEmpty { return }
            if page.events.isEmpty { await coordinator.stateChanged.wait(timeout: .milliseconds(500)) }
        }
    }

    // MARK: Helpers

    static func current(_ id: JobID, coordinator: Coordinator, context: CallContext) async throws -> Naksha_V1_Job {
        guard let job = try await coordinator.readState(timeout: context.remaining(cap: .seconds(5)), { $0.job(id).map(JobProto.job) }) else {
            throw RPCError(.notFound, "no job \(id)", reason: "unknownJob")
        }
        return job
    }

    static func jobID(_ raw: UInt64) throws -> JobID {
        guard raw != 0 else { throw RPCError(.invalidArgument, "job_id is required (job ids start at 1)", reason: "invalidInput") }
        return JobID(rawValue: raw)
    }

    /// A JSON object given as text; empty means {}.
    static func inputObject(_ text: String, what: String) throws -> [String: GraphValue] {
        guard !text.isEmpty else { return [:] }
        guard text.drop(while: \.isWhitespace).first == "{" else {
            throw RPCError(.invalidArgument, "\(what) must be a JSON object such as {\"question\": \"…\"}", reason: "invalidInput")
        }
        let value: GraphValue
        do {
            value = try GraphValue(parsingJSON: text, name: what)
        } catch {
            throw RPCError(.invalidArgument, "\(what) is not valid JSON: \(error)", reason: "invalidInput")
        }
        guard case .map(let values) = value else { throw RPCError(.invalidArgument, "\(what) must be a JSON object", reason: "invalidInput") }
        return values
    }

    /// The coordinator's typed errors as statuses. UNAVAILABLE means nothing was applied
    /// (safe to retry); UNKNOWN means it may have been.
    static func mapError(_ error: any Error) -> RPCError? {
        switch error {
        case let error as ClusterError:
            let reason = HTTPGateway.camelCase("\(error.code)")
            switch error.code {
            case .unknownGraph, .unknownJob, .unknownTask, .unknownWorker, .unknownCollection: return RPCError(.notFound, error.message, reason: reason)
            case .invalidGraph, .invalidInput, .invalidCommand, .malformedCommand: return RPCError(.invalidArgument, error.message, reason: reason)
            case .idempotencyConflict, .graphVersionConflict: return RPCError(.alreadyExists, error.message, reason: reason)
            case .notCancellable, .notInterrupted, .staleLease: return RPCError(.failedPrecondition, error.message, reason: reason)
            case .outputTooLarge, .stateTooLarge: return RPCError(.resourceExhausted, error.message, reason: reason)
            default: return RPCError(.internal, error.message, reason: reason)
            }
        case let error as GraphError:
            return RPCError(.invalidArgument, "\(error)", reason: "invalidGraph")
        case let error as VectorServiceError:
            let code: RPCCode
            switch error.code {
            case .invalidInput, .invalidFilter, .dimensionMismatch: code = .invalidArgument
            case .unknownCollection: code = .notFound
            case .tooLarge: code = .resourceExhausted
            case .conflict: code = .alreadyExists
            case .coldStoreRequired: code = .failedPrecondition
            // An upsert's outcome is unknown (repeating it is safe: it is idempotent by id).
            case .coldStoreUnavailable: code = .unknown
            case .embeddingFailed: code = .unavailable
            }
            return RPCError(code, error.message, reason: error.code.rawValue)
        case let error as RaftError:
            var metadata: [String: String] = [:]
            if let leader = error.leaderHint { metadata["leader"] = "\(leader.rawValue)" }
            switch error.code {
            case .notLeader, .leaderTransferInProgress, .tooManyUncommittedEntries, .nodeStopped:
                return RPCError(.unavailable, error.detail, reason: "\(error.code)", metadata: metadata)
            case .outcomeUnknown:
                return RPCError(.unknown, error.detail, reason: "outcomeUnknown", metadata: metadata)
            case .deadlineExceeded:
                return RPCError(.deadlineExceeded, error.detail, reason: "deadlineExceeded")
            case .commandTooLarge:
                return RPCError(.resourceExhausted, error.detail, reason: "commandTooLarge")
            default:
                return RPCError(.internal, error.detail, reason: "\(error.code)")
            }
        case let error as RemoteCallError:
            return RPCError(error.code == .deadlineExceeded ? .deadlineExceeded : .unavailable, error.message, reason: "\(error.code)")
        case let error as CoordinatorError:
            return RPCError(.unavailable, error.message, reason: error.code.rawValue)
        default:
            return nil
        }
    }
}

/// Serves the client protocol as one of the coordinator's services: binds at start, and on
/// graceful shutdown lets running calls finish (up to 5 s) before closing.
struct ClientProtocolService: Service {
    let coordinator: Coordinator
    let host: String
    let port: Int

    func run() async throws {
        let server = try await ProtocolServer.start(host: host, port: port, router: ClientProtocol.router(for: coordinator))
        coordinator.logger.info("client protocol listening", metadata: ["client": "\(host):\(server.port)"])
        do {
            try await gracefulShutdown()
        } catch {
            // The group was cancelled rather than asked to shut down: drain and close all the same.
        }
        await server.shutdown()
    }
}
