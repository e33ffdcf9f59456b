import NakshaGraph
/// `template`: renders its `template` into the node's one written key.
struct TemplateNode: NodeExecutor {
    func run(_ context: NodeContext) async throws(NodeFailure) -> NodeResult {
        let text = try context.render("template") ?? ""
        return NodeResult(output: context.single(.string(text)))
    }
}
