import Foundation
import Hummingbird
import NakshaCore
import NakshaState

/// Limits the leader enforces when it leases tasks, set through the log (docs/api.md#limits):
///
/// | route | does |
/// |---|---|
/// | `GET /v1/limits` | every provider bucket, graph limit and fairness-key limit |
/// | `PUT /v1/limits/providers/{provider}` `{"tokens_per_second", "burst"}` | a token bucket for a provider key (`openai:…`, `embed:text-embedding-3-small`) |
/// | `DELETE /v1/limits/providers/{provider}` | removes its rate (a 429 throttle in force stays) |
/// | `PUT /v1/limits/graphs/{name}` `{"max_leased_tasks"}` | the most tasks of one graph leased at once |
/// | `PUT /v1/limits/fairness-keys/{key}` `{"max_leased_tasks"}` | the most tasks of one fairness key leased at once |
/// | `DELETE /v1/limits/graphs/{name}`, `DELETE /v1/limits/fairness-keys/{key}` | remove the limit |
///
/// Changes need an admin token when API tokens are configured.
extension HTTPGateway {
    static func addLimitRoutes(to router: Router<BasicRequestContext>, coordinator: Coordinator) {
        router.get("v1/limits") { _, _ in
            try await handlingJobs {
                let now = WorkerGateway.nowMillis()
                let rendered = try await coordinator.readState { state in limitsJSON(state, now: now) }
                return rawJSON(rendered)
            }
        }
        router.put("v1/limits/providers/:provider") { request, context in
            try await handlingJobs {
                let provider = context.parameters.get("provider") ?? ""
                var request = request
                let fields = try parseObject(try await readBody(&request), what: "the body")
                guard let rate = try typed(fields, "tokens_per_second", as: Double.self, "a number"), rate.isFinite else {
                    throw JobRequestError(.badRequest, "badRequest", "give {\"tokens_per_second\": N, \"burst\": M}")
                }
                guard (0.001...1_000_000).contains(rate) else {
                    throw JobRequestError(.badRequest, "invalidCommand", "tokens_per_second must be 0.001…1000000 (DELETE removes the rate)")
                }
                let burst = try typed(fields, "burst", as: Int.self, "a whole number") ?? max(1, Int(rate.rounded(.up)))
                _ = try await coordinator.propose(.setProviderRate(provider: provider, tokensPerSecond: rate, burst: burst))
                return try await limitsResponse(coordinator)
            }
        }
        router.delete("v1/limits/providers/:provider") { _, context in
            try await handlingJobs {
                let provider = context.parameters.get("provider") ?? ""
                _ = try await coordinator.propose(.setProviderRate(provider: provider, tokensPerSecond: .infinity, burst: 1))
                return try await limitsResponse(coordinator)
            }
        }
        let kinds: [(String, @Sendable (String, Int?) -> ClusterCommand)] = [
            ("graphs", { name, limit in .setGraphConcurrency(graph: name, maxLeasedTasks: limit) }),
            ("fairness-keys", { key, limit in .setKeyConcurrency(key: key, maxLeasedTasks: limit) }),
        ]
        for (path, makeCommand) in kinds {
            router.put("v1/limits/\(path)/:name") { request, context in
                try await handlingJobs {
                    let name = context.parameters.get("name") ?? ""
                    var request = request
                    let fields = try parseObject(try await readBody(&request), what: "the body")
                    guard let limit = try typed(fields, "max_leased_tasks", as: Int.self, "a whole number") else {
                        throw JobRequestError(.badRequest, "badRequest", "give {\"max_leased_tasks\": N} (DELETE removes the limit)")
                    }
                    _ = try await coordinator.propose(makeCommand(name, limit))
                    return try await limitsResponse(coordinator)
                }
            }
            router.delete("v1/limits/\(path)/:name") { _, context in
                try await handlingJobs {
                    _ = try await coordinator.propose(makeCommand(context.parameters.get("name") ?? "", nil))
                    return try await limitsResponse(coordinator)
                }
            }
        }
    }

    private static func limitsResponse(_ coordinator: Coordinator) async throws -> Response {
        let now = WorkerGateway.nowMillis()
        return rawJSON(try await coordinator.readState { state in limitsJSON(state, now: now) })
    }

    static func limitsJSON(_ state: ClusterState, now: UInt64) -> String {
        var providers: [String] = []
        for name in state.providerNames {
            guard let status = state.providerStatus(name, atMillis: now) else { continue }
            var fields = ["\"provider\":\(JSONText.quoted(name))"]
            fields.append("\"tokens_per_second\":\(status.tokensPerSecond.map { "\($0)" } ?? "null")")
            fields.append("\"burst\":\(status.burst.map { "\($0)" } ?? "null")")
            fields.append("\"available_tokens\":\(status.availableTokens.map { "\($0)" } ?? "null")")
            fields.append("\"closed_until_ms\":\(status.closedUntilMillis.map { "\($0)" } ?? "null")")
            providers.append("{" + fields.joined(separator: ",") + "}")
        }
        let graphs = state.graphConcurrencyLimits.map { "\(JSONText.quoted($0.name)):\($0.limit)" }
        let keys = state.keyConcurrencyLimits.map { "\(JSONText.quoted($0.name)):\($0.limit)" }
        return "{\"providers\":[\(providers.joined(separator: ","))],\"graphs\":{\(graphs.joined(separator: ","))},\"fairness_keys\":{\(keys.joined(separator: ","))}}"
    }
}
