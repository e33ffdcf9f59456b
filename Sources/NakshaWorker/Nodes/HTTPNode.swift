import AsyncHTTPClient
import Foundation
import NakshaGraph
import NIOCore
import NIOHTTP1

/// `http`: one request — `method` (default GET, or POST when there is a `body`), `url`
/// (template), `headers` (templates), `body` (expression; a string is sent as text, anything
/// else as JSON) — within the node's timeout. `secret://NAME` in the URL or a header is
/// replaced by the environment variable `NAME` (never logged). The task's lease token goes
/// out as `Idempotency-Key`.
///
/// A 2xx answer is written as JSON when it parses, else as text. 408, 429 and 5xx fail the
/// task retryably; other statuses fail it for good.
struct HTTPNode: NodeExecutor {
    static let maxResponseBytes = 1 << 20

    func run(_ context: NodeContext) async throws(NodeFailure) -> NodeResult {
        let url = try Self.resolveSecrets(context.render("url") ?? "", environment: context.environment)
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw NodeFailure(.invalidParameter, "http url must start with http:// or https://")
        }
        let body = try context.evaluate("body")
        let method = (context.string("method") ?? (body == nil ? "GET" : "POST")).uppercased()
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for name in context.node.templates.keys.sorted() where name.hasPrefix("headers.") {
            let value = try Self.resolveSecrets(context.render(name) ?? "", environment: context.environment)
            request.headers.add(name: String(name.dropFirst("headers.".count)), value: value)
        }
        request.headers.replaceOrAdd(name: "Idempotency-Key", value: context.idempotencyKey)
        if let body {
            if case .string(let text) = body {
                request.body = .bytes(ByteBuffer(string: text))
                if !request.headers.contains(name: "Content-Type") { request.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8") }
            } else {
                request.body = .bytes(ByteBuffer(string: body.jsonText))
                if !request.headers.contains(name: "Content-Type") { request.headers.add(name: "Content-Type", value: "application/json") }
            }
        }
        let status: HTTPResponseStatus
        var bytes: ByteBuffer
        do {
            let response = try await context.httpClient.execute(request, timeout: .milliseconds(Int64(context.node.timeoutMillis ?? 300_000)))
            status = response.status
            bytes = try await response.body.collect(upTo: Self.maxResponseBytes)
        } catch let error as HTTPClientError where [.deadlineExceeded, .readTimeout, .connectTimeout].contains(error) {
            throw NodeFailure(.timeout, "\(method) \(Self.redacted(url)) did not answer in time", retryable: true)
        } catch is NIOTooManyBytesError {
            throw NodeFailure(.http, "\(method) \(Self.redacted(url)) answered more than \(Self.maxResponseBytes) bytes")
        } catch {
            throw NodeFailure(.http, "\(method) \(Self.redacted(url)) failed: \(error)", retryable: true)
        }
        let text = bytes.readString(length: bytes.readableBytes) ?? ""
        switch status.code {
        case 200..<300:
            let value = (try? GraphValue(parsingJSON: text, name: "response")).flatMap { value -> GraphValue? in  // not JSON: kept as text
                if case .string = value { return nil }
                return value
            } ?? .string(text)
            return NodeResult(output: context.single(value))
        case 408, 429, 500..<600:
            throw NodeFailure(.http, "\(method) \(Self.redacted(url)) answered \(status.code): \(text.prefix(200))", retryable: true)
        default:
            throw NodeFailure(.http, "\(method) \(Self.redacted(url)) answered \(status.code): \(text.prefix(200))")
        }
    }

    /// Replaces each `secret://NAME` (NAME: letters, digits, `_`) with the variable's value.
    static func resolveSecrets(_ text: String, environment: [String: String]) throws(NodeFailure) -> String {
        guard text.contains("secret://") else { return text }
        var output = ""
        var rest = Substring(text)
        while let range = rest.range(of: "secret://") {
            output += rest[..<range.lowerBound]
            let tail = rest[range.upperBound...]
            let name = tail.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            guard !name.isEmpty else { throw NodeFailure(.secret, "secret:// must be followed by a variable name") }
            guard let value = environment[String(name)] else {
                throw NodeFailure(.secret, "secret \(name) is not set in the worker's environment")
            }
            output += value
            rest = tail.dropFirst(name.count)
        }
        return output + rest
    }

    /// The URL without its query (which may hold a resolved secret), for messages.
    static func redacted(_ url: String) -> String {
        url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
    }
}
