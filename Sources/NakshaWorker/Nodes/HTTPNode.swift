import AsyncHTTPClient
import Foundation
import NakshaGraph
import NIOCore
import NIOHTTP1

/// `http`: one request — `method` (default GET, or POST when there is a `body`), `url`
/// (template), `headers` (templates), `body` (expression; a string is sent as text, anything
/// else as JSON) — within the node's timeout. `secret://NAME` written in the graph's URL or
/// header text is replaced by the worker's environment variable `NAME` (never logged); a
/// `secret://` that comes from the job's state is sent as it is, so a job's input can never
/// name a secret. The task's lease token goes out as `Idempotency-Key`.
///
/// A 2xx answer is written as JSON when it parses, else as text. 408, 429 and 5xx fail the
/// task retryably; other statuses fail it for good.
struct HTTPNode: NodeExecutor {
    static let maxResponseBytes = 1 << 20

    func run(_ context: NodeContext) async throws(NodeFailure) -> NodeResult {
        let url = try Self.renderWithSecrets("url", context)
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw NodeFailure(.invalidParameter, "http url must start with http:// or https://")
        }
        let body = try context.evaluate("body")
        let method = (context.string("method") ?? (body == nil ? "GET" : "POST")).uppercased()
        guard Self.methods.contains(method) else {
            throw NodeFailure(.invalidParameter, "http method must be one of \(Self.methods.sorted().joined(separator: ", ")), not \(method.prefix(20))")
        }
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for name in context.node.templates.keys.sorted() where name.hasPrefix("headers.") {
            let value = try Self.renderWithSecrets(name, context)
            guard !value.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                throw NodeFailure(.invalidParameter, "header \(name.dropFirst("headers.".count)) would contain a line break")
            }
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
            // JSON (checked strictly first: the converter also reads YAML) becomes a value;
            // anything else is kept as text.
            let isJSON = (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil  // not JSON: text
            let value = isJSON ? ((try? GraphValue(parsingJSON: text, name: "response")) ?? .string(text)) : .string(text)  // unconvertible: text
            return NodeResult(output: context.single(value))
        case 408, 429, 500..<600:
            throw NodeFailure(.http, "\(method) \(Self.redacted(url)) answered \(status.code): \(text.prefix(200))", retryable: true)
        default:
            throw NodeFailure(.http, "\(method) \(Self.redacted(url)) answered \(status.code): \(text.prefix(200))")
        }
    }

    static let methods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]

    /// Renders template parameter `name`, resolving `secret://NAME` in the graph's own text.
    static func renderWithSecrets(_ name: String, _ context: NodeContext) throws(NodeFailure) -> String {
        guard let template = context.node.templates[name] else { return "" }
        var missing: String?
        let text: String
        do {
            text = try template.render(state: context.state, item: context.item) { literal in
                do {
                    return try resolveSecrets(literal, environment: context.environment)
                } catch {
                    missing = missing ?? ((error as? NodeFailure)?.message ?? "\(error)")
                    return literal
                }
            }
        } catch {
            throw NodeFailure(.expression, "template \"\(name)\" of node \"\(context.node.name)\": \(error)")
        }
        if let missing { throw NodeFailure(.secret, missing) }
        return text
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

    /// The URL's scheme and host only, for messages: its path, query or user part may hold a
    /// resolved secret.
    static func redacted(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return "(url)" }
        let afterScheme = url[schemeEnd.upperBound...]
        let authority = afterScheme.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let host = authority.split(separator: "@").last.map(String.init) ?? ""
        return String(url[..<schemeEnd.upperBound]) + host + "/…"
    }
}
