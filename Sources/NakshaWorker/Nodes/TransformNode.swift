import NakshaGraph
/// `transform`: evaluates each expression of `set` into its key.
struct TransformNode: NodeExecutor {
    func run(_ context: NodeContext) async throws(NodeFailure) -> NodeResult {
        do {
            return NodeResult(output: try context.node.transformOutput(state: context.state, item: context.item))
        } catch {
            throw NodeFailure(.expression, "transform \"\(context.node.name)\": \(error)")
        }
    }
}
