import NakshaGraph
/// `subgraph`: runs on the coordinator as a child job, never on a worker. A worker that is
/// handed one fails it for good, with a message that says so.
struct SubgraphNode: NodeExecutor {
    func run(_ context: NodeContext) async throws(NodeFailure) -> NodeResult {
        throw NodeFailure(
            .unsupported,
            "node \"\(context.node.name)\" is a subgraph call; subgraphs run on the coordinator as child jobs, which this version does not do yet")
    }
}
