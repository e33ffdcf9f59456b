import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import NakshaTestSupport
import Synchronization

/// A real HTTP server on loopback that speaks the OpenAI wire format (`POST /v1/embeddings`,
/// `POST /v1/chat/completions`), scripted per test: each request takes the next scripted
/// answer (or the standing answer when the script is empty), and every request is recorded
/// with its headers and body.
///
/// An answer can be held: its handler waits until `release()` (which `run` calls before
/// stopping), so a test can make the server slower than a call's timeout without sleeping.
final class FakeOpenAIServer: Sendable {
    struct Answer: Sendable {
        var status: Int
        var headers: [String: String] = [:]
        var body: String
        var held = false

        static func json(_ body: String, status: Int = 200, headers: [String: String] = [:]) -> Answer {
            Answer(status: status, headers: headers, body: body)
        }

        static func error(_ status: Int, _ message: String, headers: [String: String] = [:]) -> Answer {
            Answer(status: status, headers: headers, body: #"{"error":{"message":"\#(message)","type":"test"}}"#)
        }

        /// A `200` that is sent only after `release()`.
        static func held(_ body: String) -> Answer { Answer(status: 200, body: body, held: true) }

        static let unscripted = Answer.error(418, "the fake OpenAI server has no answer scripted for this request")
    }

    struct ReceivedRequest: Sendable {
        var path: String
        /// Header names lower-cased.
        var headers: [String: String]
        var body: String

        /// The body as a JSON object (empty when it is not one).
        var json: [String: Any] {
            ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]) ?? [:]
        }
    }

    private struct State {
        var script: [Answer] = []
        var standing: Answer?
        var received: [ReceivedRequest] = []
        var released = false
        var heldHandlers: [CheckedContinuation<Void, Never>] = []
        /// Why the server stopped before the test ended (it could not bind its port).
        var stopped: (any Error)?
    }

    private let state = Mutex(State())
    let port: Int
    /// What `GET /healthz` answers: tells this server from another test's on the same port.
    let identity = UUID().uuidString

    private init(port: Int) { self.port = port }

    /// The base URL the client is configured with (`NAKSHA_OPENAI_BASE_URL`).
    var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    /// The answers to the next requests, in order.
    func script(_ answers: Answer...) { state.withLock { $0.script.append(contentsOf: answers) } }

    /// The answer to every request once the script is used up.
    func always(_ answer: Answer) { state.withLock { $0.standing = answer } }

    var received: [ReceivedRequest] { state.withLock { $0.received } }

    /// Lets every held answer go (and answers held later go at once).
    func release() {
        let handlers = state.withLock { state in
            state.released = true
            defer { state.heldHandlers = [] }
            return state.heldHandlers
        }
        for handler in handlers { handler.resume() }
    }

    private func waitForRelease() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let goNow = state.withLock { state in
                if state.released { return true }
                state.heldHandlers.append(continuation)
                return false
            }
            if goNow { continuation.resume() }
        }
    }

    private func respond(to request: Request, path: String) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 16 << 20)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let received = ReceivedRequest(path: path, headers: headers, body: String(buffer: body))
        let answer = state.withLock { state in
            state.received.append(received)
            if !state.script.isEmpty { return state.script.removeFirst() }
            return state.standing ?? .unscripted
        }
        if answer.held { await waitForRelease() }
        var fields: HTTPFields = [.contentType: "application/json"]
        for (name, value) in answer.headers {
            guard let name = HTTPField.Name(name) else { preconditionFailure("bad header name \(name) in a test's script") }
            fields[name] = value
        }
        return Response(
            status: HTTPResponse.Status(code: answer.status), headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: answer.body)))
    }

    /// Starts a server on a free loopback port and an `HTTPClient`, waits until the server
    /// accepts connections, runs `body`, then stops both.
    static func run<T: Sendable>(_ body: (FakeOpenAIServer, HTTPClient) async throws -> T) async throws -> T {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let result: Result<T, any Error>
        do {
            result = .success(try await run(client: client, body))
        } catch {
            result = .failure(error)
        }
        try await client.shutdown()
        return try result.get()
    }

    /// A port that was free when chosen can be taken by a concurrent test before the server
    /// binds it: then another port is tried.
    private struct PortTaken: Error {}

    private static func run<T: Sendable>(client: HTTPClient, _ body: (FakeOpenAIServer, HTTPClient) async throws -> T) async throws -> T {
        for attempt in 1... {
            let server = FakeOpenAIServer(port: try stableLoopbackPort())
            let router = Router()
            router.get("healthz") { _, _ in server.identity }
            router.post("v1/embeddings") { request, _ in try await server.respond(to: request, path: "/v1/embeddings") }
            router.post("v1/chat/completions") { request, _ in try await server.respond(to: request, path: "/v1/chat/completions") }
            var logger = Logger(label: "fake-openai")
            logger.logLevel = .critical  // stopping by cancellation logs errors that are expected here
            let app = Application(
                router: router, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: server.port)), logger: logger)
            do {
                return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
                    group.addTask {
                        do {
                            try await app.runService(gracefulShutdownSignals: [])
                            server.state.withLock { $0.stopped = $0.stopped ?? CancellationError() }
                        } catch {
                            server.state.withLock { $0.stopped = error }
                        }
                    }
                    defer {
                        server.release()
                        group.cancelAll()
                    }
                    try await server.waitUntilAccepting(client)
                    return try await body(server, client)
                }
            } catch is PortTaken where attempt < 5 {
                continue
            }
        }
        preconditionFailure("unreachable: the loop returns or throws")
    }

    /// Polls `GET /healthz` until this server answers, for at most ten seconds.
    /// - Throws: `PortTaken` when the server stopped (it could not bind its port).
    private func waitUntilAccepting(_ client: HTTPClient) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if state.withLock({ $0.stopped != nil }) { throw PortTaken() }
            if let response = try? await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/healthz"), timeout: .seconds(1)),
                response.status == .ok,
                let body = try? await response.body.collect(upTo: 1024),
                String(buffer: body) == identity
            {
                return
            }
            try await Task.sleep(for: .milliseconds(20))  // poll interval, not synchronisation
        }
        throw TestSupportError("the fake OpenAI server did not accept connections on 127.0.0.1:\(port) within 10 s")
    }
}
