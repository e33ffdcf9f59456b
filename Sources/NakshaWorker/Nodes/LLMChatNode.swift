import NakshaGraph
import NakshaProviders
import NakshaState

/// `llm.chat`: an OpenAI-compatible chat completion of `system` and `prompt` (templates),
/// with `model`, `temperature` and `maxTokens`; writes the answer's text. Prompt tokens,
/// completion tokens and cost are recorded on the task.
struct LLMChatNode: NodeExecutor {
    func run(_ context: NodeContext) async throws(NodeFailure) -> NodeResult {
        var messages: [ChatMessage] = []
        if let system = try context.render("system"), !system.isEmpty { messages.append(ChatMessage(role: "system", content: system)) }
        messages.append(ChatMessage(role: "user", content: try context.render("prompt") ?? ""))
        let maxTokens = context.int("maxTokens") ?? context.int("max_tokens")
        if let maxTokens, maxTokens < 1 { throw NodeFailure(.invalidParameter, "maxTokens must be at least 1") }
        let request = ChatRequest(model: context.string("model"), messages: messages, temperature: context.double("temperature"), maxTokens: maxTokens)
        let result: ChatResult
        do {
            result = try await context.providers.chat(request, idempotencyKey: context.idempotencyKey, timeout: context.timeout)
        } catch {
            throw NodeFailure(error)
        }
        let usage = TaskUsage(
            model: result.model, promptTokens: result.promptTokens, completionTokens: result.completionTokens, costMicroUSD: result.costMicroUSD)
        return NodeResult(output: context.single(.string(result.text)), usage: usage)
    }
}
