import AsyncHTTPClient
import Foundation
import NIOHTTP1
import NakshaTestSupport
import Testing

@testable import NakshaProviders

/// The OpenAI client against a real HTTP server on loopback that speaks the OpenAI wire
/// format: answers, headers, and how each kind of failure is classified and retried.
@Suite struct OpenAICompatibleClientTests {
    static let key = "sk-test-0123456789"

    static func client(_ server: FakeOpenAIServer, _ http: HTTPClient, maxRetries: Int = 2) -> OpenAICompatibleClient {
        OpenAICompatibleClient(baseURL: server.baseURL, apiKey: key, httpClient: http, maxRetries: maxRetries, initialBackoff: .milliseconds(10))
    }

    static let embeddingsAnswer = """
        {"object": "list", "model": "text-embedding-3-small",
         "data": [{"object": "embedding", "index": 1, "embedding": [0.0, 1.0, 0.5]},
                  {"object": "embedding", "index": 0, "embedding": [0.25, -0.5, 1]}],
         "usage": {"prompt_tokens": 1000, "total_tokens": 1000}}
        """

    @Test func embeddingsAnswerGivesVectorsInInputOrderTokensAndCost() async throws {
        try await FakeOpenAIServer.run { server, http in
            server.script(.json(Self.embeddingsAnswer))
            let result = try await Self.client(server, http).embeddings(
                model: "text-embedding-3-small", inputs: ["first text", "second text"], idempotencyKey: "lease-42", timeout: .seconds(10))
            #expect(result.vectors == [[0.25, -0.5, 1], [0, 1, 0.5]], "ordered by each item's index")
            #expect(result.model == "text-embedding-3-small")
            #expect(result.promptTokens == 1000)
            #expect(result.costMicroUSD == ModelPricing.costMicroUSD(model: "text-embedding-3-small", promptTokens: 1000, completionTokens: 0))
            #expect(result.costMicroUSD == 20, "$0.02 per million tokens")
        }
    }

    @Test func theRequestCarriesTheKeyTheIdempotencyKeyAndTheInputs() async throws {
        try await FakeOpenAIServer.run { server, http in
            server.script(.json(Self.embeddingsAnswer))
            _ = try await Self.client(server, http).embeddings(
                model: "text-embedding-3-small", inputs: ["first text", "second text"], idempotencyKey: "lease-42", timeout: .seconds(10))
            let requests = server.received
            #expect(requests.count == 1)
            let request = try #require(requests.first)
            #expect(request.path == "/v1/embeddings")
            #expect(request.headers["authorization"] == "Bearer \(Self.key)")
            #expect(request.headers["idempotency-key"] == "lease-42")
            #expect(request.headers["content-type"] == "application/json")
            #expect(request.json["model"] as? String == "text-embedding-3-small")
            #expect(request.json["input"] as? [String] == ["first text", "second text"])
        }
    }

    @Test func rateLimitedIsThrownWithRetryAfterAndNotRetriedHere() async throws {
        try await FakeOpenAIServer.run { server, http in
            server.always(.error(429, "Rate limit reached for requests", headers: ["Retry-After": "7"]))
            let error = try await #require(throws: ProviderError.self) {
                try await Self.client(server, http).embeddings(model: "text-embedding-3-small", inputs: ["x"], idempotencyKey: "k", timeout: .seconds(10))
            }
            #expect(error.code == .rateLimited)
            #expect(error.retryAfterMillis == 7000)
            #expect(error.httpStatus == 429)
            #expect(error.isRetryable)
            #expect(error.message.contains("Rate limit reached for requests"), "the provider's error.message: \(error.message)")
            #expect(server.received.count == 1, "a 429 is left to the coordinator's governor, not retried locally")
        }
    }

    @Test func retryAfterMillisecondsWinsOverRetryAfterSeconds() async throws {
        try await FakeOpenAIServer.run { server, http in
            server.script(.error(429, "slow down", headers: ["Retry-After": "7", "retry-after-ms": "1500"]))
            let error = try await #require(throws: ProviderError.self) {
                try await Self.client(server, http).embeddings(model: "text-embedding-3-small", inputs: ["x"], idempotencyKey: "k", timeout: .seconds(10))
            }
            #expect(error.code == .rateLimited)
            #expect(error.retryAfterMillis == 1500)
        }
    }

    @Test func aRateLimitWithoutRetryAfterWaitsOneSecond() async throws {
        try await FakeOpenAIServer.run { server, http in
            server.script(.error(429, "slow down"))
            let error = try await #require(throws: ProviderError.self) {
                try await Self.client(server, http).embeddings(model: "text-embedding-3-small", inputs: ["x"], idempotencyKey: "k", timeout: .seconds(10))
            }
            #expect(error.retryAfterMillis == 1000)
        }
    }

    @Test func retryAfterAsAnHTTPDateIsTheTimeUntilThen() throws {
        let now = try #require(ISO8601DateFormatter().date(from: "2015-10-21T07:27:30Z"))
        let headers = HTTPHeaders([("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT")])
        #expect(OpenAICompatibleClient.retryAfterMillis(headers, now: now) == 30_000)
        let past = HTTPHeaders([("Retry-After", "Wed, 21 Oct 2015 07:00:00 GMT")])
        #expect(OpenAICompatibleClient.retryAfterMillis(past, now: now) == 0)
        let huge = HTTPHeaders([("Retry-After", "86400")])
        #expect(OpenAICompatibleClient.retryAfterMillis(huge, now: now) == 3_600_000, "at most one hour")
    }

    @Test func serverErrorsAreRetriedUntilOneSucceeds() async throws {
        try await FakeOpenAIServer.run { server, http in
            server.script(.error(500, "boom"), .error(503, "overloaded"), .json(Self.embeddingsAnswer))
            let result = try await Self.client(server, http).embeddings(
                model: "text-embedding-3-small", inputs: ["a", "b"], idempotencyKey: "lease-7", timeout: .seconds(10))
            #expect(result.vectors.count == 2)
            let requests = server.received
            #expect(requests.count == 3)
            #expect(requests.allSatisfy { $0.headers["idempotency-key"] == "lease-7" }, "every retry carries the same Idempotency-Key")
        }
    }

    @Test(arguments: [0, 1, 3])
    func aServerErrorThatPersistsIsThrownAfterEveryRetry(maxRetries: Int) async throws {
        try await FakeOpenAIServer.run { server, http in
            server.always(.error(502, "bad gateway"))
            let error = try await #require(throws: ProviderError.self) {
                try await Self.client(server, http, maxRetries: maxRetries).embeddings(
                    model: "text-embedding-3-small", inputs: ["x"], idempotencyKey: "k", timeout: .seconds(10))
            }
            #expect(error.code == .serverError)
            #expect(error.httpStatus == 502)
            #expect(error.isRetryable)
            #expect(error.message.contains("bad gateway"))
            #expect(server.received.count == 1 + maxRetries)
        }
    }

    @Test(arguments: ["{not json", "[1, 2, 3]", #"{"data": "nope"}"#, #"{"data": [{"index": 0, "embedding": []}]}"#, ""])
    func aSuccessWhoseBodyIsNotTheDocumentedJSONIsMalformed(body: String) async throws {
        try await FakeOpenAIServer.run { server, http in
            server.always(.json(body))
            let error = try await #require(throws: ProviderError.self) {
                try await Self.client(server, http).embeddings(model: "text-embedding-3-small", inputs: ["x"], idempotencyKey: "k", timeout: .seconds(10))
            }
            #expect(error.code == .malformedResponse, "\(error)")
            #expect(!error.isRetryable)
            #expect(server.received.count == 1, "a malformed answer is not retried")
        }
    }

    @Test(arguments: [401, 403])
    func aRefusedKeyIsUnauthorized(status: Int) async throws {
        try await FakeOpenAIServer.run { server, http in
            server.always(.error(status, "Incorrect API key provided"))
            let error = try await #require(throws: ProviderError.self) {
                try await Self.client(server, http).embeddings(model: "text-embedding-3-small", inputs: ["x"], idempotencyKey: "k", timeout: .seconds(10))
            }
            #expect(error.code == .unauthorized)
            #expect(error.httpStatus == status)
            #expect(!error.isRetryable)
            #expect(error.message.contains("OPENAI_KEY"), "says what to do: \(error.message)")
            #expect(server.received.count == 1)
        }
    }

    @Test func anotherClientErrorIsRejectedAndNotRetried() async throws {
        try await FakeOpenAIServer.run { server, http in
            server.always(.error(400, "'input' is too long"))
            let error = try await #require(throws: ProviderError.self) {
                try await Self.client(server, http).embeddings(model: "text-embedding-3-small", inputs: ["x"], idempotencyKey: "k", timeout: .seconds(10))
            }
            #expect(error.code == .requestRejected)
            #expect(!error.isRetryable)
            #expect(error.message.contains("'input' is too long"))
            #expect(server.received.count == 1)
        }
    }

    @Test func aServerSlowerThanTheTimeoutIsATimeout() async throws {
        try await FakeOpenAIServer.run { server, http in
            server.script(.held(Self.embeddingsAnswer))
            let started = ContinuousClock.now
            let error = try await #require(throws: ProviderError.self) {
                try await Self.client(server, http).embeddings(
                    model: "text-embedding-3-small", inputs: ["x"], idempotencyKey: "k", timeout: .milliseconds(300))
            }
            let elapsed = ContinuousClock.now - started
            #expect(error.code == .timeout, "\(error)")
            #expect(error.isRetryable)
            #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(5), "gave up after \(elapsed)")
            #expect(server.received.count == 1, "the request reached the server, which had not answered")
        }
    }

    @Test func nothingListeningIsATransportError() async throws {
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let client = OpenAICompatibleClient(
            baseURL: "http://127.0.0.1:\(try stableLoopbackPort())/v1", apiKey: Self.key, httpClient: http, maxRetries: 1,
            initialBackoff: .milliseconds(10))
        do {
            // AsyncHTTPClient dials again until the deadline, then reports the last dial error.
            _ = try await client.embeddings(model: "text-embedding-3-small", inputs: ["x"], idempotencyKey: "k", timeout: .seconds(1))
            Issue.record("a call to a port nobody listens on succeeded")
        } catch {
            #expect(error.code == .transport, "\(error)")
            #expect(error.isRetryable)
        }
        try await http.shutdown()
    }

    @Test func chatCompletionGivesTextTokensAndModel() async throws {
        try await FakeOpenAIServer.run { server, http in
            server.script(
                .json(
                    """
                    {"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
                     "choices": [{"index": 0, "message": {"role": "assistant", "content": "Leases expire after missed heartbeats. [a.md]"},
                                  "finish_reason": "stop"}],
                     "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500}}
                    """))
            let request = ChatRequest(
                model: "gpt-4o-mini",
                messages: [ChatMessage(role: "system", content: "Answer from the context."), ChatMessage(role: "user", content: "When does a lease expire?")],
                temperature: 0.2, maxTokens: 256)
            let result = try await Self.client(server, http).chat(model: "gpt-4o-mini", request, idempotencyKey: "lease-9", timeout: .seconds(10))
            #expect(result.text == "Leases expire after missed heartbeats. [a.md]")
            #expect(result.promptTokens == 1200)
            #expect(result.completionTokens == 300)
            #expect(result.model == "gpt-4o-mini-2024-07-18", "the model the provider says answered")
            #expect(result.costMicroUSD == ModelPricing.costMicroUSD(model: "gpt-4o-mini", promptTokens: 1200, completionTokens: 300))
            #expect(result.costMicroUSD == 360, "1200 × $0.15/M + 300 × $0.60/M")

            let sent = try #require(server.received.first)
            #expect(sent.path == "/v1/chat/completions")
            #expect(sent.headers["authorization"] == "Bearer \(Self.key)")
            #expect(sent.headers["idempotency-key"] == "lease-9")
            #expect(sent.json["model"] as? String == "gpt-4o-mini")
            #expect(sent.json["temperature"] as? Double == 0.2)
            #expect(sent.json["max_tokens"] as? Int == 256)
            let messages = try #require(sent.json["messages"] as? [[String: String]])
            #expect(messages == [["role": "system", "content": "Answer from the context."], ["role": "user", "content": "When does a lease expire?"]])
        }
    }

    @Test func aChatAnswerWithoutContentIsMalformed() async throws {
        try await FakeOpenAIServer.run { server, http in
            server.script(.json(#"{"choices": []}"#))
            let error = try await #require(throws: ProviderError.self) {
                try await Self.client(server, http).chat(
                    model: "gpt-4o-mini", ChatRequest(model: nil, messages: [ChatMessage(role: "user", content: "hi")]), idempotencyKey: nil,
                    timeout: .seconds(10))
            }
            #expect(error.code == .malformedResponse)
            #expect(server.received.first?.headers["idempotency-key"] == nil)
        }
    }
}
