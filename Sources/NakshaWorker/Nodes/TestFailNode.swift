import NakshaState
import NakshaGraph
/// `test.fail` (tests and demos only): fails with `message`, retryable unless
/// `retryable: false`; from attempt `succeedOnAttempt` on (if given) it succeeds instead,
/// writing `output` (if given) to each written key.
struct TestFailNode: NodeExecutor {
    func run(_ context: NodeContext) async throws(NodeFailure) -> NodeResult {
        if let success = context.int("succeedOnAttempt"), context.assignment.attempt >= success {
            var output: [String: GraphValue] = [:]
            if let value = context.node.params["output"] { for key in context.node.writes { output[key] = value } }
            return NodeResult(output: output)
        }
        let message = context.string("message") ?? "test.fail failed on purpose (attempt \(context.assignment.attempt))"
        throw NodeFailure(.testFailure, message, retryable: context.bool("retryable") ?? true)
    }
}
