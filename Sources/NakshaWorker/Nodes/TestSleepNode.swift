import NakshaGraph
/// `test.sleep` (tests and demos only): waits `millis` (default 1000), honouring
/// cancellation, and writes `output` (if given) to each written key.
struct TestSleepNode: NodeExecutor {
    func run(_ context: NodeContext) async throws(NodeFailure) -> NodeResult {
        let millis = context.int("millis") ?? 1000
        guard (0...3_600_000).contains(millis) else { throw NodeFailure(.invalidParameter, "test.sleep millis must be 0…3600000") }
        do {
            try await Task.sleep(for: .milliseconds(millis))
        } catch {
            throw NodeFailure(.cancelled, "test.sleep was cancelled")
        }
        var output: [String: GraphValue] = [:]
        if let value = context.node.params["output"] { for key in context.node.writes { output[key] = value } }
        return NodeResult(output: output)
    }
}
