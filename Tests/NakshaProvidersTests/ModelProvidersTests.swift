import AsyncHTTPClient
import NakshaProviders
import Testing

/// Who serves a model name: offline models always serve their own names; OpenAI names go to
/// the OpenAI-compatible API only with a key and without `offlineOnly`.
@Suite struct ModelProvidersTests {
    static let prompt = #"""
        Question: When does a lease expire?
        Context: [{"source": "leases.md", "text": "A lease expires when the worker misses heartbeats for the whole lease duration."}]
        """#

    static func chatRequest(model: String?) -> ChatRequest {
        ChatRequest(model: model, messages: [ChatMessage(role: "system", content: "Answer from the context."), ChatMessage(role: "user", content: prompt)])
    }

    /// Runs `body` with an HTTP client that is shut down afterwards.
    static func withHTTPClient(_ body: (HTTPClient) async throws -> Void) async throws {
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await body(http)
        } catch {
            try await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    @Test func withoutAKeyAnOpenAIEmbeddingModelIsServedOffline() async throws {
        try await Self.withHTTPClient { http in
            let providers = ModelProviders(settings: ModelProviders.Settings(), httpClient: http)
            let result = try await providers.embed(["x"], model: "text-embedding-3-small", idempotencyKey: "k", timeout: .seconds(5))
            #expect(result.model == "offline-hash-384")
            #expect(result.vectors.count == 1)
            #expect(result.vectors.first?.count == 384)
            #expect(result.costMicroUSD == 0)
            #expect(result.promptTokens >= 1)
            #expect(providers.defaultEmbeddingModel == "offline-hash-384")
        }
    }

    @Test func withoutAKeyAnOpenAIChatModelIsServedByTheExtractiveAnswerer() async throws {
        try await Self.withHTTPClient { http in
            let providers = ModelProviders(settings: ModelProviders.Settings(), httpClient: http)
            let result = try await providers.chat(Self.chatRequest(model: "gpt-4o-mini"), idempotencyKey: "k", timeout: .seconds(5))
            #expect(result.model == "offline-extractive")
            #expect(result.text == "A lease expires when the worker misses heartbeats for the whole lease duration. [leases.md]")
            #expect(result.costMicroUSD == 0)
            #expect(result.promptTokens > 0 && result.completionTokens > 0)
            #expect(providers.defaultChatModel == "offline-extractive")
        }
    }

    @Test func theOfflineEmbeddingDimensionIsConfigurable() async throws {
        try await Self.withHTTPClient { http in
            let providers = ModelProviders(settings: ModelProviders.Settings(offlineEmbeddingDimension: 64), httpClient: http)
            let result = try await providers.embed(["worker leases", "vector search"], model: nil, idempotencyKey: nil, timeout: .seconds(5))
            #expect(result.model == "offline-hash-64")
            #expect(result.vectors.map(\.count) == [64, 64])
        }
    }

    @Test func offlineOnlyServesOpenAINamesOfflineEvenWithAKey() async throws {
        try await FakeOpenAIServer.run { server, http in
            server.always(.error(500, "the fake server must not be called"))
            let settings = ModelProviders.Settings(openAIKey: "sk-test", openAIBaseURL: server.baseURL, offlineOnly: true)
            #expect(!settings.usesOpenAI)
            let providers = ModelProviders(settings: settings, httpClient: http)
            let embedded = try await providers.embed(["x"], model: "text-embedding-3-small", idempotencyKey: "k", timeout: .seconds(5))
            #expect(embedded.model == "offline-hash-384")
            let answered = try await providers.chat(Self.chatRequest(model: "gpt-4o-mini"), idempotencyKey: "k", timeout: .seconds(5))
            #expect(answered.model == "offline-extractive")
            #expect(server.received.isEmpty)
        }
    }

    @Test func withAKeyOpenAINamesGoToTheConfiguredServer() async throws {
        try await FakeOpenAIServer.run { server, http in
            server.script(
                .json(#"{"data": [{"index": 0, "embedding": [0.6, 0.8]}], "usage": {"prompt_tokens": 3}}"#),
                .json(#"{"model": "gpt-4o-mini", "choices": [{"message": {"role": "assistant", "content": "From the server."}}], "usage": {"prompt_tokens": 20, "completion_tokens": 4}}"#)
            )
            let providers = ModelProviders(settings: ModelProviders.Settings(openAIKey: "sk-test", openAIBaseURL: server.baseURL), httpClient: http)
            #expect(providers.defaultEmbeddingModel == "text-embedding-3-small")
            #expect(providers.defaultChatModel == "gpt-4o-mini")
            let embedded = try await providers.embed(["x"], model: "text-embedding-3-small", idempotencyKey: "lease-1", timeout: .seconds(5))
            #expect(embedded.model == "text-embedding-3-small")
            #expect(embedded.vectors == [[0.6, 0.8]])
            #expect(embedded.promptTokens == 3)
            let answered = try await providers.chat(Self.chatRequest(model: "gpt-4o-mini"), idempotencyKey: "lease-2", timeout: .seconds(5))
            #expect(answered.model == "gpt-4o-mini")
            #expect(answered.text == "From the server.")

            let received = server.received
            #expect(received.map(\.path) == ["/v1/embeddings", "/v1/chat/completions"])
            #expect(received.map { $0.headers["authorization"] } == ["Bearer sk-test", "Bearer sk-test"])
            #expect(received.map { $0.headers["idempotency-key"] } == ["lease-1", "lease-2"])
        }
    }

    @Test func offlineModelNamesAreServedOfflineEvenWithAKey() async throws {
        try await FakeOpenAIServer.run { server, http in
            let providers = ModelProviders(settings: ModelProviders.Settings(openAIKey: "sk-test", openAIBaseURL: server.baseURL), httpClient: http)
            let embedded = try await providers.embed(["x"], model: "offline-hash-128", idempotencyKey: nil, timeout: .seconds(5))
            #expect(embedded.model == "offline-hash-128")
            #expect(embedded.vectors.first?.count == 128)
            let answered = try await providers.chat(Self.chatRequest(model: "offline-extractive"), idempotencyKey: nil, timeout: .seconds(5))
            #expect(answered.model == "offline-extractive")
            #expect(server.received.isEmpty)
        }
    }

    @Test func aChatModelCannotEmbedAndAnEmbeddingModelCannotChat() async throws {
        try await Self.withHTTPClient { http in
            let providers = ModelProviders(settings: ModelProviders.Settings(), httpClient: http)
            let embedError = try await #require(throws: ProviderError.self) {
                try await providers.embed(["x"], model: "offline-extractive", idempotencyKey: nil, timeout: .seconds(5))
            }
            #expect(embedError.code == .unknownModel)
            let chatError = try await #require(throws: ProviderError.self) {
                try await providers.chat(Self.chatRequest(model: "offline-hash-384"), idempotencyKey: nil, timeout: .seconds(5))
            }
            #expect(chatError.code == .unknownModel)
        }
    }

    @Test func settingsComeFromTheEnvironment() {
        let none = ModelProviders.Settings.fromEnvironment([:])
        #expect(none == ModelProviders.Settings())
        #expect(!none.usesOpenAI)
        #expect(ModelProviders.Settings.fromEnvironment(["OPENAI_KEY": ""]).openAIKey == nil, "an empty key is no key")
        let configured = ModelProviders.Settings.fromEnvironment(["OPENAI_KEY": "sk-1", "NAKSHA_OPENAI_BASE_URL": "http://127.0.0.1:9/v1"])
        #expect(configured == ModelProviders.Settings(openAIKey: "sk-1", openAIBaseURL: "http://127.0.0.1:9/v1"))
        #expect(configured.usesOpenAI)
        #expect(!ModelProviders.Settings.fromEnvironment(["OPENAI_KEY": "sk-1", "NAKSHA_PROVIDERS": "offline"]).usesOpenAI)
    }
}
