import CoreMetrics
import Foundation
import Hummingbird

/// Bearer tokens for the HTTP gateway, from `NAKSHA_API_TOKENS_FILE`: one token per line,
/// optionally followed by `admin` (`# …` comments and blank lines are ignored). With tokens
/// configured, every request but `/healthz`, `/readyz` and `/metrics` must carry
/// `Authorization: Bearer TOKEN` (else 401), and the membership and leadership-transfer
/// routes need an admin token (else 403). Failures are counted in
/// `naksha_http_auth_failures_total{reason}` (`missing`, `invalid`, `forbidden`). Tokens are
/// compared in constant time and never logged.
public struct APITokens: Sendable {
    struct Token: Sendable {
        var bytes: [UInt8]
        var admin: Bool
    }

    let tokens: [Token]

    /// Reads the file. Throws a `CoordinatorError` naming the file and line on a bad line.
    public static func load(path: String) throws -> APITokens {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CoordinatorError(.invalidConfiguration, "cannot read the API tokens file \(path)")
        }
        var tokens: [Token] = []
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count <= 2, fields.count == 1 || fields[1] == "admin" else {
                throw CoordinatorError(.invalidConfiguration, "\(path) line \(number + 1): write TOKEN or TOKEN admin")
            }
            guard fields[0].utf8.count >= 16 else {
                throw CoordinatorError(.invalidConfiguration, "\(path) line \(number + 1): a token must have at least 16 characters (generate one with `openssl rand -hex 32`)")
            }
            tokens.append(Token(bytes: Array(fields[0].utf8), admin: fields.count == 2))
        }
        guard !tokens.isEmpty else { throw CoordinatorError(.invalidConfiguration, "the API tokens file \(path) holds no token") }
        return APITokens(tokens: tokens)
    }

    /// The matching token's admin flag, or nil if `presented` matches none. Every token is
    /// compared in full, whatever matches, so the time taken does not say which one did.
    func check(_ presented: [UInt8]) -> Bool? {
        var match: Bool? = nil
        for token in tokens {
            var difference = UInt8(token.bytes.count == presented.count ? 0 : 1)
            for position in 0..<token.bytes.count {
                difference |= token.bytes[position] ^ (position < presented.count ? presented[position] : 0)
            }
            if difference == 0 { match = token.admin }
        }
        return match
    }
}

/// Enforces `APITokens` on every route but the health and metrics ones.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let tokens: APITokens

    static var openPaths: Set<String> { ["/healthz", "/readyz", "/metrics"] }

    static func needsAdmin(_ request: Request) -> Bool {
        let path = request.uri.path
        return path.hasPrefix("/v1/cluster/members") || path.hasPrefix("/v1/cluster/transfer-leader")
            || (path.hasPrefix("/v1/limits") && request.method != .get)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !Self.openPaths.contains(request.uri.path) else { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        guard header.hasPrefix("Bearer ") else {
            return Self.refuse(.unauthorized, "missing", "send Authorization: Bearer TOKEN (this gateway requires an API token)")
        }
        guard let admin = tokens.check(Array(header.dropFirst("Bearer ".count).utf8)) else {
            return Self.refuse(.unauthorized, "invalid", "the API token is not valid")
        }
        if Self.needsAdmin(request) && !admin {
            return Self.refuse(.forbidden, "forbidden", "membership, leadership and limit changes need an admin token")
        }
        return try await next(request, context)
    }

    static func refuse(_ status: HTTPResponse.Status, _ reason: String, _ message: String) -> Response {
        Counter(label: "naksha_http_auth_failures_total", dimensions: [("reason", reason)]).increment()
        var response = HTTPGateway.problem(status, status == .forbidden ? "forbidden" : "unauthorized", message)
        if status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }
}
