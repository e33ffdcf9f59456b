import Foundation
import NIOHTTP1

/// Submits jobs over a coordinator's HTTP job API and follows them, for `naksha ingest`,
/// `naksha ask` and `naksha dev`.
struct JobWatcher {
    let gateway: GatewayClient

    struct Submitted {
        var id: String
        var existing: Bool
    }

    /// `POST /v1/jobs`; the body is the job API's JSON. A body with an `idempotency_key` is
    /// sent again when the coordinator cannot be reached or answers 503 (an election), for up
    /// to about 20 s: the key makes a repeat the same job. Without a key nothing is repeated.
    func submit(_ body: [String: Any]) async throws -> Submitted {
        let data = try JSONSerialization.data(withJSONObject: body)
        let retryable = body["idempotency_key"] != nil
        var attempts = 0
        var answer: GatewayClient.Answer
        while true {
            do {
                answer = try await gateway.request(.POST, "/v1/jobs", body: Array(data))
                if answer.status == 503, retryable, attempts < 40 {
                    attempts += 1
                    try await Task.sleep(for: .milliseconds(500))
                    continue
                }
                break
            } catch let error as CLIError where retryable && attempts < 40 {
                attempts += 1
                if attempts == 1 { FileHandle.standardError.write(Data("\(error); retrying\n".utf8)) }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
        try GatewayClient.check(answer)
        guard let object = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any], let id = object["id"] as? String else {
            throw CLIError("unexpected answer to POST /v1/jobs: \(answer.text)")
        }
        return Submitted(id: id, existing: object["existing"] as? Bool ?? false)
    }

    /// `GET /v1/jobs/{id}` as a JSON object. A read that answers 503 (leadership settling)
    /// is tried again.
    func job(_ id: String) async throws -> [String: Any] {
        var attempts = 0
        while true {
            let answer = try await gateway.request(.GET, "/v1/jobs/\(id)")
            if answer.status == 503, attempts < 50 {
                attempts += 1
                try await Task.sleep(for: .milliseconds(200))
                continue
            }
            try GatewayClient.check(answer)
            guard let object = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any] else {
                throw CLIError("unexpected answer to GET /v1/jobs/\(id): \(answer.text)")
            }
            return object
        }
    }

    static let finished: Set<String> = ["succeeded", "failed", "cancelled"]

    /// Polls the job until it finishes (or stops at an interrupt), calling `progress` with each
    /// task whose state changed, then returns the job.
    func wait(_ id: String, timeout: Duration, progress: (_ node: String, _ state: String, _ task: [String: Any]) -> Void = { _, _, _ in }) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        var seen: [String: String] = [:]
        while true {
            let job = try await self.job(id)
            for task in job["tasks"] as? [[String: Any]] ?? [] {
                guard let taskID = task["id"] as? String, let state = task["state"] as? String, let node = task["node"] as? String else { continue }
                if seen[taskID] != state {
                    seen[taskID] = state
                    progress(node, state, task)
                }
            }
            let status = job["status"] as? String ?? ""
            if Self.finished.contains(status) || status == "interrupted" { return job }
            guard ContinuousClock.now < deadline else { throw CLIError("job \(id) did not finish within \(timeout) (status \(status)); follow it with GET /v1/jobs/\(id)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
