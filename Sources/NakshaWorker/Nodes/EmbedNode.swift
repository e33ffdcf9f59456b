import NakshaGraph
import NakshaProviders
import NakshaState

/// `embed`: embeds `input` (a string, or a list of strings) with `model` (or the default),
/// writing one vector, or a list of vectors in input order.
struct EmbedNode: NodeExecutor {
    func run(_ context: NodeContext) async throws(NodeFailure) -> NodeResult {
        let input = try context.evaluate("input")
        let texts: [String]
        let single: Bool
        switch input {
        case .string(let text)?:
            texts = [text]
            single = true
        case .list(let items)?:
            var collected: [String] = []
            for (index, item) in items.enumerated() {
                guard case .string(let text) = item else { throw NodeFailure(.invalidParameter, "embed input item \(index) is not a string") }
                collected.append(text)
            }
            texts = collected
            single = false
        default:
            throw NodeFailure(.invalidParameter, "embed input must be a string or a list of strings, not \(input.map { "\($0)" } ?? "nothing")")
        }
        let result: EmbeddingResult
        do {
            result = try await context.providers.embed(texts, model: context.string("model"), idempotencyKey: context.idempotencyKey, timeout: context.timeout)
        } catch {
            throw NodeFailure(error)
        }
        let vectors = result.vectors.map { vector in GraphValue.list(vector.map { .double(Double($0)) }) }
        let usage = TaskUsage(model: result.model, promptTokens: result.promptTokens, costMicroUSD: result.costMicroUSD)
        return NodeResult(output: context.single(single ? vectors[0] : .list(vectors)), usage: usage)
    }
}
