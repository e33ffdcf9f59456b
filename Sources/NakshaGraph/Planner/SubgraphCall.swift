/// What a `subgraph` task asks the coordinator to do: start a child run of `graph` with
/// `input`, and complete the task with the child's final values of the parent node's
/// `writes` keys.
public struct SubgraphCall: Sendable, Hashable {
    public let graph: GraphReference
    public let input: [String: GraphValue]
}

extension GraphPlanner {
    /// The child run a `subgraph` task stands for (nil for other node kinds): the node's
    /// `input` expressions evaluated on the run's state and the task's item.
    public func subgraphCall(for task: GraphTask, state: PlannerState) throws(ExpressionError) -> SubgraphCall? {
        guard let node = graph.nodes[task.node], let reference = node.subgraph else { return nil }
        var input: [String: GraphValue] = [:]
        for (key, expression) in (node.expressionMaps["input"] ?? [:]).sorted(by: { $0.key < $1.key }) {
            input[key] = try expression.evaluate(state: state.values, item: task.item)
        }
        return SubgraphCall(graph: reference, input: input)
    }

    /// The values a finished child run hands back to its parent task: the child's final
    /// values of the keys the parent node writes (keys the child does not have are left out).
    public func subgraphOutput(for task: GraphTask, childValues: [String: GraphValue]) -> [String: GraphValue] {
        var output: [String: GraphValue] = [:]
        for key in graph.nodes[task.node]?.writes ?? [] {
            if let value = childValues[key] { output[key] = value }
        }
        return output
    }
}
