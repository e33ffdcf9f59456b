import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A coordinator's HTTP gateway as the CLI talks to it (until the binary client protocol
/// exists, `--server` names a coordinator's HTTP port).
struct GatewayClient {
    let server: String

    struct Answer {
        var status: Int
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// The gateway's JSON error body.
    struct Problem: Decodable {
        var error: String
        var message: String
        var leader: UInt64?
    }

    func request(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, timeout: Duration = .seconds(30)) async throws -> Answer {
        var request = HTTPClientRequest(url: "http://\(server)\(path)")
        request.method = method
        // A gateway started with NAKSHA_API_TOKENS_FILE wants a bearer token (never printed).
        if let token = ProcessInfo.processInfo.environment["NAKSHA_API_TOKEN"], !token.isEmpty {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        if let body {
            request.body = .bytes(body)
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: TimeAmount(timeout))
            let collected = try await response.body.collect(upTo: 64 << 20)
            return Answer(status: Int(response.status.code), body: Array(buffer: collected))
        } catch {
            throw CLIError("cannot reach the coordinator's HTTP port at \(server): \(error) (is `naksha coordinator` running there? --server sets the address)")
        }
    }

    /// `request`, then decodes a 2xx JSON answer as `T`, or throws the gateway's error.
    func json<T: Decodable>(_ type: T.Type, _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil) async throws -> T {
        let answer = try await request(method, path, body: body)
        try Self.check(answer)
        do {
            return try JSONDecoder().decode(T.self, from: Data(answer.body))
        } catch {
            throw CLIError("unexpected answer from \(server)\(path): \(answer.text)")
        }
    }

    static func check(_ answer: Answer) throws {
        guard !(200..<300).contains(answer.status) else { return }
        if let problem = try? JSONDecoder().decode(Problem.self, from: Data(answer.body)) {
            throw CLIError("\(problem.error): \(problem.message)")
        }
        throw CLIError("HTTP \(answer.status): \(answer.text)")
    }
}

/// A CLI failure: printed as `error: message`, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
