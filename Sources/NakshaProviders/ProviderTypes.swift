/// Embeddings of a batch of texts, in input order.
public struct EmbeddingResult: Sendable, Equatable {
    public var vectors: [[Float]]
    /// The model that produced them (an offline model when one stood in for an OpenAI one).
    public var model: String
    public var promptTokens: Int
    public var costMicroUSD: Int
}

public struct ChatMessage: Sendable, Equatable, Codable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

public struct ChatRequest: Sendable, Equatable {
    public var model: String?
    public var messages: [ChatMessage]
    public var temperature: Double?
    public var maxTokens: Int?

    public init(model: String?, messages: [ChatMessage], temperature: Double? = nil, maxTokens: Int? = nil) {
        self.model = model
        self.messages = messages
        self.temperature = temperature
        self.maxTokens = maxTokens
    }
}

public struct ChatResult: Sendable, Equatable {
    public var text: String
    public var model: String
    public var promptTokens: Int
    public var completionTokens: Int
    public var costMicroUSD: Int
}
