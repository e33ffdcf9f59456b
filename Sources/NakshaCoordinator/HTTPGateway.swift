import Foundation
import Hummingbird
import NakshaActors
import NakshaObservability
import NakshaRaft
import RaftCore

/// The coordinator's HTTP port: health, readiness, metrics, cluster status and membership,
/// and the key-value routes of the benchmark state machine.
///
/// | route | what |
/// |---|---|
/// | `GET /healthz` | 200 while the process runs |
/// | `GET /readyz` | 200 once a member with a known leader has applied what was committed when it learned of one; else 503 with the reason |
/// | `GET /metrics` | Prometheus text |
/// | `GET /v1/cluster` | `ClusterStatusReport` as JSON |
/// | `POST /v1/cluster/transfer-leader?to=N` | hand leadership to voter N |
/// | `POST /v1/cluster/members` `{"id":N,"address":"HOST:PORT"}` | add a learner |
/// | `POST /v1/cluster/members/N/promote` | make learner N a voter |
/// | `DELETE /v1/cluster/members/N` | remove member N |
/// | `PUT /v1/kv/KEY` (body: the value) / `GET` / `DELETE` | the replicated key-value map |
/// | `GET /v1/kv?consistency=local` | this replica's keys now (diagnostics) |
///
/// Errors are JSON `{"error": code, "message": text, "leader": id?}` with a fitting status:
/// 400 bad input, 404 absent key, 409 refused membership change, 503 no leader or not
/// ready, 504 deadline.
public enum HTTPGateway {
    static let maxValueBytes = 1 << 20

    /// The body of `POST /v1/cluster/members`.
    public struct AddLearnerRequest: Codable, Sendable {
        public var id: UInt64
        /// The new member's peer address, `HOST:PORT`.
        public var address: String

        public init(id: UInt64, address: String) {
            self.id = id
            self.address = address
        }
    }

    public static func application(for coordinator: Coordinator) -> some ApplicationProtocol {
        let router = Router()
        if let tokens = coordinator.configuration.apiTokens {
            router.add(middleware: BearerTokenMiddleware(tokens: tokens))
        }
        router.get("healthz") { _, _ in text("ok\n") }
        router.get("readyz") { _, _ in try await readiness(coordinator) }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: MetricsExport.contentType],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: coordinator.metrics.render())))
        }
        router.get("v1/cluster") { _, _ in
            try await handling { json(try await coordinator.clusterStatus()) }
        }
        router.post("v1/cluster/transfer-leader") { request, _ in
            try await handling {
                guard let target = request.uri.queryParameters.get("to", as: UInt64.self) else {
                    return problem(.badRequest, "badRequest", "give the new leader as ?to=NODE_ID")
                }
                try await coordinator.atLeader { try await $0.transferLeadership(to: target) }
                return json(try await coordinator.clusterStatus())
            }
        }
        router.post("v1/cluster/members") { request, _ in
            try await handling {
                var request = request
                let body = try await request.collectBody(upTo: 64 << 10)
                guard let add = try? JSONDecoder().decode(AddLearnerRequest.self, from: Data(Array(buffer: body))) else {
                    return problem(.badRequest, "badRequest", "expected JSON {\"id\": N, \"address\": \"HOST:PORT\"}")
                }
                let address = try CoordinatorConfiguration.parseAddress(add.address)
                try await coordinator.atLeader(timeout: .seconds(10)) { try await $0.changeMembership(.addLearner(id: add.id, address: address)) }
                return json(try await coordinator.clusterStatus())
            }
        }
        router.post("v1/cluster/members/:id/promote") { _, context in
            try await handling {
                guard let id = context.parameters.get("id", as: UInt64.self) else { return problem(.badRequest, "badRequest", "member id must be a number") }
                try await coordinator.atLeader(timeout: .seconds(10)) { try await $0.changeMembership(.promote(id: id)) }
                return json(try await coordinator.clusterStatus())
            }
        }
        router.delete("v1/cluster/members/:id") { _, context in
            try await handling {
                guard let id = context.parameters.get("id", as: UInt64.self) else { return problem(.badRequest, "badRequest", "member id must be a number") }
                try await coordinator.atLeader(timeout: .seconds(10)) { try await $0.changeMembership(.remove(id: id)) }
                return json(try await coordinator.clusterStatus())
            }
        }
        router.get("v1/kv") { request, _ in
            try await handling {
                guard request.uri.queryParameters.get("consistency") == "local" else {
                    return problem(.badRequest, "badRequest", "listing keys is a local read: add ?consistency=local")
                }
                struct Listing: Encodable {
                    var node: UInt64
                    var appliedIndex: UInt64
                    var count: Int
                    var keys: [String]
                }
                let local = await coordinator.localKeys()
                return json(Listing(node: coordinator.configuration.nodeID, appliedIndex: local.appliedIndex, count: local.keys.count, keys: local.keys))
            }
        }
        router.put("v1/kv/:key") { request, context in
            try await handling {
                guard let key = context.parameters.get("key"), !key.isEmpty else { return problem(.badRequest, "badRequest", "missing key") }
                var request = request
                let body = try await request.collectBody(upTo: maxValueBytes)
                try await coordinator.put(key: key, value: Array(buffer: body))
                return text("ok\n")
            }
        }
        router.get("v1/kv/:key") { _, context in
            try await handling {
                guard let key = context.parameters.get("key"), let value = try await coordinator.get(key: key) else {
                    return problem(.notFound, "notFound", "no such key")
                }
                return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: value)))
            }
        }
        router.delete("v1/kv/:key") { _, context in
            try await handling {
                guard let key = context.parameters.get("key") else { return problem(.badRequest, "badRequest", "missing key") }
                return try await coordinator.delete(key: key) ? text("ok\n") : problem(.notFound, "notFound", "no such key")
            }
        }
        addJobRoutes(to: router, coordinator: coordinator)
        addLimitRoutes(to: router, coordinator: coordinator)
        addVectorRoutes(to: router, coordinator: coordinator)
        let configuration = coordinator.configuration
        return Application(
            router: router,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: "naksha-coordinator-\(configuration.nodeID)"),
            logger: coordinator.logger)
    }

    private static func readiness(_ coordinator: Coordinator) async throws -> Response {
        let status = try await coordinator.node.status()
        if status.ready { return text("ready\n") }
        let reason: String
        if !status.members.contains(where: { $0.id == status.id }) {
            reason = "not a member yet (waiting to be added as a learner)"
        } else if status.leader == nil {
            reason = "no leader known (election in progress or no quorum)"
        } else {
            reason = "catching up: applied \(status.appliedIndex) of the commit index seen at start"
        }
        return problem(.serviceUnavailable, "notReady", reason)
    }

    /// Maps typed errors to HTTP answers; anything unexpected is a 500 with its text.
    static func handling(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as RaftError {
            switch error.code {
            case .notLeader, .leaderTransferInProgress, .tooManyUncommittedEntries:
                return problem(.serviceUnavailable, "\(error.code)", error.detail, leader: error.leaderHint?.rawValue)
            case .membershipChangePending, .invalidMembershipChange:
                return problem(.conflict, "\(error.code)", error.detail)
            default:
                return problem(.internalServerError, "\(error.code)", error.detail)
            }
        } catch let error as RemoteCallError {
            let status: HTTPResponse.Status = error.code == .deadlineExceeded ? .gatewayTimeout : .serviceUnavailable
            return problem(status, "\(error.code)", error.message)
        } catch let error as CoordinatorError {
            return problem(.badRequest, error.code.rawValue, error.message)
        }
    }

    static func text(_ body: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: Array(data) + [0x0A])))
    }

    private struct Problem: Encodable {
        var error: String
        var message: String
        var leader: UInt64?
    }

    static func problem(_ status: HTTPResponse.Status, _ code: String, _ message: String, leader: UInt64? = nil) -> Response {
        json(Problem(error: code, message: message, leader: leader), status: status)
    }
}
