import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A client of the OpenAI HTTP API (`/embeddings`, `/chat/completions`), or of any server that
/// speaks it (`NAKSHA_OPENAI_BASE_URL`).
///
/// - Every request carries `Idempotency-Key` (the task's lease token), so a retried call is
///   not charged twice by a provider that honours it.
/// - A `5xx` or a broken connection is retried here, up to `maxRetries` times with doubling
///   backoff, within the call's timeout.
/// - A `429` is not retried here: it is thrown as `rateLimited` with its `Retry-After`
///   (`retry-after-ms`, else `Retry-After` in seconds or as an HTTP date, else one second), for
///   the coordinator's governor to close the provider's bucket for every worker.
public struct OpenAICompatibleClient: Sendable {
    public static let defaultBaseURL = "https://api.openai.com/v1"
    /// Answers larger than this are refused as malformed.
    static let maxResponseBytes = 64 << 20

    public var baseURL: String
    public var apiKey: String?
    public var maxRetries: Int
    public var initialBackoff: Duration
    let httpClient: HTTPClient

    public init(baseURL: String = Self.defaultBaseURL, apiKey: String?, httpClient: HTTPClient, maxRetries: Int = 2, initialBackoff: Duration = .milliseconds(250)) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.httpClient = httpClient
        self.maxRetries = maxRetries
        self.initialBackoff = initialBackoff
    }

    public func embeddings(model: String, inputs: [String], idempotencyKey: String?, timeout: Duration) async throws(ProviderError) -> EmbeddingResult {
        guard !inputs.isEmpty else { return EmbeddingResult(vectors: [], model: model, promptTokens: 0, costMicroUSD: 0) }
        guard inputs.count <= 2048 else { throw ProviderError(.invalidInput, "at most 2048 texts per embedding call (got \(inputs.count))") }
        let object = try await post("/embeddings", body: ["model": model, "input": inputs], idempotencyKey: idempotencyKey, timeout: timeout)
        guard let data = object["data"] as? [[String: Any]], data.count == inputs.count else {
            throw ProviderError(.malformedResponse, "the embeddings answer has no \"data\" list of \(inputs.count) items")
        }
        var vectors = [[Float]](repeating: [], count: inputs.count)
        for (position, item) in data.enumerated() {
            let index = (item["index"] as? Int) ?? position
            guard vectors.indices.contains(index), let numbers = item["embedding"] as? [NSNumber], !numbers.isEmpty else {
                throw ProviderError(.malformedResponse, "embedding \(position) of the answer has no \"embedding\" list of numbers")
            }
            vectors[index] = numbers.map { $0.floatValue }
        }
        guard vectors.allSatisfy({ !$0.isEmpty && $0.count == vectors[0].count }) else {
            throw ProviderError(.malformedResponse, "the embeddings answer lacks some inputs or mixes dimensions")
        }
        let usage = object["usage"] as? [String: Any]
        let tokens = Self.tokenCount(usage?["prompt_tokens"]) ?? inputs.reduce(0) { $0 + TextFeatures.estimatedTokens($1) }
        return EmbeddingResult(
            vectors: vectors, model: model, promptTokens: tokens,
            costMicroUSD: ModelPricing.costMicroUSD(model: model, promptTokens: tokens, completionTokens: 0))
    }

    public func chat(model: String, _ request: ChatRequest, idempotencyKey: String?, timeout: Duration) async throws(ProviderError) -> ChatResult {
        var body: [String: Any] = ["model": model, "messages": request.messages.map { ["role": $0.role, "content": $0.content] }]
        if let temperature = request.temperature { body["temperature"] = temperature }
        if let maxTokens = request.maxTokens { body["max_tokens"] = maxTokens }
        let object = try await post("/chat/completions", body: body, idempotencyKey: idempotencyKey, timeout: timeout)
        guard let choices = object["choices"] as? [[String: Any]], let message = choices.first?["message"] as? [String: Any],
              let content = message["content"] as? String
        else {
            throw ProviderError(.malformedResponse, "the chat answer has no choices[0].message.content")
        }
        let usage = object["usage"] as? [String: Any]
        let prompt = Self.tokenCount(usage?["prompt_tokens"]) ?? request.messages.reduce(0) { $0 + TextFeatures.estimatedTokens($1.content) }
        let completion = Self.tokenCount(usage?["completion_tokens"]) ?? TextFeatures.estimatedTokens(content)
        return ChatResult(
            text: content, model: (object["model"] as? String) ?? model, promptTokens: prompt, completionTokens: completion,
            costMicroUSD: ModelPricing.costMicroUSD(model: model, promptTokens: prompt, completionTokens: completion))
    }

    /// POSTs `body` as JSON and returns the answer's JSON object, retrying `5xx` and broken
    /// connections within `timeout`.
    func post(_ path: String, body: [String: Any], idempotencyKey: String?, timeout: Duration) async throws(ProviderError) -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        let payload: Data
        do {
            payload = try JSONSerialization.data(withJSONObject: body)
        } catch {
            throw ProviderError(.invalidInput, "the request cannot be encoded as JSON: \(error)")
        }
        var attempt = 0
        while true {
            do {
                return try await postOnce(path, payload: payload, idempotencyKey: idempotencyKey, deadline: deadline)
            } catch let error where (error.code == .serverError || error.code == .transport) && attempt < maxRetries {
                let backoff = initialBackoff * (1 << attempt)
                attempt += 1
                guard ContinuousClock.now + backoff < deadline else { throw error }
                do { try await Task.sleep(for: backoff) } catch { throw ProviderError(.timeout, "cancelled while backing off") }
            }
        }
    }

    private func postOnce(_ path: String, payload: Data, idempotencyKey: String?, deadline: ContinuousClock.Instant) async throws(ProviderError) -> [String: Any] {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        if let idempotencyKey { request.headers.add(name: "Idempotency-Key", value: idempotencyKey) }
        request.body = .bytes(ByteBuffer(bytes: payload))
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else { throw ProviderError(.timeout, "no time left for POST \(path)") }
        let milliseconds = max(1, remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000)
        let status: HTTPResponseStatus
        let headers: HTTPHeaders
        var bytes: ByteBuffer
        do {
            let response = try await httpClient.execute(request, timeout: .milliseconds(milliseconds))
            status = response.status
            headers = response.headers
            bytes = try await response.body.collect(upTo: Self.maxResponseBytes)
        } catch let error as HTTPClientError where [.deadlineExceeded, .readTimeout, .connectTimeout].contains(error) {
            throw ProviderError(.timeout, "POST \(baseURL)\(path) did not answer in time")
        } catch is CancellationError {
            throw ProviderError(.timeout, "POST \(baseURL)\(path) was cancelled")
        } catch let error as NIOTooManyBytesError {
            throw ProviderError(.malformedResponse, "the answer to POST \(path) is larger than \(Self.maxResponseBytes) bytes: \(error)")
        } catch {
            throw ProviderError(.transport, "POST \(baseURL)\(path) failed: \(error)")
        }
        let text = bytes.readString(length: bytes.readableBytes) ?? ""
        switch status.code {
        case 200..<300:
            guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {  // not JSON: reported below
                throw ProviderError(.malformedResponse, "the answer to POST \(path) is not a JSON object: \(text.prefix(200))", httpStatus: Int(status.code))
            }
            return object
        case 429:
            throw ProviderError(
                .rateLimited, "the provider is rate limiting (429): \(Self.errorMessage(text))",
                retryAfterMillis: Self.retryAfterMillis(headers), httpStatus: 429)
        case 401, 403:
            throw ProviderError(
                .unauthorized, "the provider refused the key (\(status.code)); check OPENAI_KEY: \(Self.errorMessage(text))", httpStatus: Int(status.code))
        case 500..<600:
            throw ProviderError(.serverError, "the provider failed (\(status.code)): \(Self.errorMessage(text))", httpStatus: Int(status.code))
        default:
            throw ProviderError(.requestRejected, "the provider rejected the request (\(status.code)): \(Self.errorMessage(text))", httpStatus: Int(status.code))
        }
    }

    /// A token count the provider reported, if it is a plausible one (0…10⁹).
    static func tokenCount(_ value: Any?) -> Int? {
        guard let number = value as? NSNumber, number.doubleValue.isFinite, number.doubleValue >= 0, number.doubleValue <= 1e9 else { return nil }
        return number.intValue
    }

    /// The `error.message` of an OpenAI error body, else the start of the body.
    static func errorMessage(_ body: String) -> String {
        if let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any],  // not JSON: the raw text below
           let error = object["error"] as? [String: Any], let message = error["message"] as? String
        {
            return message
        }
        return String(body.prefix(200))
    }

    /// `retry-after-ms`, else `Retry-After` as seconds or as an HTTP date; one second when
    /// neither is usable. At most one hour.
    static func retryAfterMillis(_ headers: HTTPHeaders, now: Date = Date()) -> UInt64 {
        let hour: UInt64 = 3_600_000
        // Clamped before converting: a provider's "inf" or "1e30" must not trap.
        if let text = headers.first(name: "retry-after-ms"), let value = Double(text), value.isFinite, value >= 0 {
            return UInt64(min(value, Double(hour)))
        }
        guard let text = headers.first(name: "Retry-After")?.trimming(" ") else { return 1000 }
        if let seconds = Double(text), seconds.isFinite, seconds >= 0 { return UInt64(min(seconds * 1000, Double(hour))) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        if let date = formatter.date(from: text) { return UInt64(min(max(0, date.timeIntervalSince(now)) * 1000, Double(hour))) }
        return 1000
    }
}
