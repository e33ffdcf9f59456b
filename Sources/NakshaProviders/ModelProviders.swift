import AsyncHTTPClient

/// Chooses who serves a model name, and serves it:
/// - `offline-hash-<dimension>` → `HashingEmbedder`; `offline-extractive` → `ExtractiveAnswerer`;
/// - any other name → the OpenAI-compatible API when a key is configured (`OPENAI_KEY`);
///   without a key, the offline model stands in (`offline-hash-384` for embeddings,
///   `offline-extractive` for chat), so that everything runs with no network. Results name
///   the model that actually served them.
///
/// A node without a `model` gets `defaultEmbeddingModel` / `defaultChatModel`.
public struct ModelProviders: Sendable {
    public struct Settings: Sendable, Equatable {
        /// `OPENAI_KEY`.
        public var openAIKey: String?
        /// `NAKSHA_OPENAI_BASE_URL`.
        public var openAIBaseURL: String
        /// `offline` never calls the network, even with a key.
        public var offlineOnly: Bool
        /// The stand-in embedder's dimension (384).
        public var offlineEmbeddingDimension: Int

        public init(openAIKey: String? = nil, openAIBaseURL: String = OpenAICompatibleClient.defaultBaseURL, offlineOnly: Bool = false, offlineEmbeddingDimension: Int = 384) {
            self.openAIKey = openAIKey
            self.openAIBaseURL = openAIBaseURL
            self.offlineOnly = offlineOnly
            self.offlineEmbeddingDimension = offlineEmbeddingDimension
        }

        /// From `OPENAI_KEY`, `NAKSHA_OPENAI_BASE_URL` and `NAKSHA_PROVIDERS=offline`.
        public static func fromEnvironment(_ environment: [String: String]) -> Settings {
            Settings(
                openAIKey: environment["OPENAI_KEY"].flatMap { $0.isEmpty ? nil : $0 },
                openAIBaseURL: environment["NAKSHA_OPENAI_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? OpenAICompatibleClient.defaultBaseURL,
                offlineOnly: environment["NAKSHA_PROVIDERS"] == "offline")
        }

        /// Whether OpenAI model names go to the network.
        public var usesOpenAI: Bool { openAIKey != nil && !offlineOnly }
    }

    public let settings: Settings
    let client: OpenAICompatibleClient?
    let answerer = ExtractiveAnswerer()

    public init(settings: Settings, httpClient: HTTPClient) {
        self.settings = settings
        self.client = settings.usesOpenAI ? OpenAICompatibleClient(baseURL: settings.openAIBaseURL, apiKey: settings.openAIKey, httpClient: httpClient) : nil
    }

    public var defaultEmbeddingModel: String { client == nil ? "\(HashingEmbedder.modelPrefix)\(settings.offlineEmbeddingDimension)" : "text-embedding-3-small" }
    public var defaultChatModel: String { client == nil ? ExtractiveAnswerer.model : "gpt-4o-mini" }

    /// Embeds `texts` with `model` (or the default).
    public func embed(_ texts: [String], model requested: String?, idempotencyKey: String?, timeout: Duration) async throws(ProviderError) -> EmbeddingResult {
        let model = requested ?? defaultEmbeddingModel
        if model == ExtractiveAnswerer.model { throw ProviderError(.unknownModel, "\(model) is a chat model; embed with offline-hash-<dimension> or an embedding model") }
        if let embedder = try HashingEmbedder(model: model) {
            return try offlineEmbeddings(texts, embedder: embedder)
        }
        guard let client else {
            return try offlineEmbeddings(texts, embedder: try HashingEmbedder(dimension: settings.offlineEmbeddingDimension))
        }
        return try await client.embeddings(model: model, inputs: texts, idempotencyKey: idempotencyKey, timeout: timeout)
    }

    /// Answers a chat with `request.model` (or the default).
    public func chat(_ request: ChatRequest, idempotencyKey: String?, timeout: Duration) async throws(ProviderError) -> ChatResult {
        let model = request.model ?? defaultChatModel
        if model.hasPrefix(HashingEmbedder.modelPrefix) { throw ProviderError(.unknownModel, "\(model) is an embedding model; chat with offline-extractive or a chat model") }
        guard let client, model != ExtractiveAnswerer.model else { return offlineChat(request) }
        return try await client.chat(model: model, request, idempotencyKey: idempotencyKey, timeout: timeout)
    }

    private func offlineEmbeddings(_ texts: [String], embedder: HashingEmbedder) throws(ProviderError) -> EmbeddingResult {
        var vectors: [[Float]] = []
        vectors.reserveCapacity(texts.count)
        for text in texts { vectors.append(try embedder.embed(text)) }
        return EmbeddingResult(
            vectors: vectors, model: embedder.model, promptTokens: texts.reduce(0) { $0 + TextFeatures.estimatedTokens($1) }, costMicroUSD: 0)
    }

    private func offlineChat(_ request: ChatRequest) -> ChatResult {
        let prompt = request.messages.filter { $0.role == "user" }.map(\.content).joined(separator: "\n")
        let parsed = ExtractiveAnswerer.parse(prompt: prompt)
        let answer = answerer.answer(question: parsed.question, passages: parsed.passages)
        return ChatResult(
            text: answer.text, model: ExtractiveAnswerer.model,
            promptTokens: request.messages.reduce(0) { $0 + TextFeatures.estimatedTokens($1.content) },
            completionTokens: TextFeatures.estimatedTokens(answer.text), costMicroUSD: 0)
    }
}
