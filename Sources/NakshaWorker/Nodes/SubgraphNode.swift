import NakshaGraph
/// `subgraph`: runs on the coordinator as a child job (`ClusterState+Children`), so a worker
/// is never handed one. A worker that is (a coordinator of an older version) fails it for
/// good, with a message that says so.
struct SubgraphNode: NodeExecutor {
    func run(_ context: NodeContext) async throws(NodeFailure) -> NodeResult {
        throw NodeFailure(
            .unsupported,
            "node \"\(context.node.name)\" is a subgraph call; the coordinators run subgraphs as child jobs and never lease them to workers")
    }
}
