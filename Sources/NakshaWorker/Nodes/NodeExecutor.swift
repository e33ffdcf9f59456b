import AsyncHTTPClient
import Logging
import NakshaCore
import NakshaGraph
import NakshaProviders
import NakshaState

/// What one node type does with a leased task. One file per node type; `NodeRegistry` maps
/// each `NodeKind` to its executor.
///
/// An executor returns the task's output (keys within the node's `writes`) or throws a
/// `NodeFailure` saying whether trying again may help. It must honour task cancellation
/// (a cancelled job, a lease lost, a timeout).
protocol NodeExecutor: Sendable {
    func run(_ context: NodeContext) async throws(NodeFailure) -> NodeResult
}

/// Everything a node sees while it runs.
struct NodeContext: Sendable {
    let assignment: TaskAssignment
    let node: NodeDefinition
    let graph: GraphDefinition
    let providers: ModelProviders
    let vectors: VectorCollections
    let httpClient: HTTPClient
    let logger: Logger
    /// The environment secrets are resolved from (`secret://NAME`).
    let environment: [String: String]

    var state: [String: GraphValue] { assignment.state }
    var item: GraphValue? { assignment.item }

    /// Sent as `Idempotency-Key` on every outgoing HTTP call: the lease token, so a retry of
    /// the same attempt is recognised by a provider that honours the header, while a new
    /// attempt (a new lease) is a new call.
    var idempotencyKey: String { "naksha-\(assignment.task)-\(assignment.token.rawValue)" }

    /// The node's time limit (its `timeout`, else 5 minutes).
    var timeout: Duration { .milliseconds(node.timeoutMillis ?? 300_000) }

    /// Evaluates the expression parameter `name`.
    func evaluate(_ name: String) throws(NodeFailure) -> GraphValue? {
        guard let expression = node.expressions[name] else { return nil }
        do {
            return try expression.evaluate(state: state, item: item)
        } catch {
            throw NodeFailure(.expression, "parameter \"\(name)\" of node \"\(node.name)\": \(error)")
        }
    }

    /// Renders the template parameter `name`.
    func render(_ name: String) throws(NodeFailure) -> String? {
        guard let template = node.templates[name] else { return nil }
        do {
            return try template.render(state: state, item: item)
        } catch {
            throw NodeFailure(.expression, "template \"\(name)\" of node \"\(node.name)\": \(error)")
        }
    }

    /// A literal parameter as text, integer, number or flag.
    func string(_ name: String) -> String? {
        if case .string(let text)? = node.params[name] { return text }
        return nil
    }

    func int(_ name: String) -> Int? {
        switch node.params[name] {
        case .int(let value)?: return value
        case .double(let value)? where value.rounded() == value: return Int(value)
        case .string(let text)?: return Int(text)
        default: return nil
        }
    }

    func double(_ name: String) -> Double? {
        switch node.params[name] {
        case .int(let value)?: return Double(value)
        case .double(let value)?: return value
        case .string(let text)?: return Double(text)
        default: return nil
        }
    }

    func bool(_ name: String) -> Bool? {
        switch node.params[name] {
        case .bool(let value)?: return value
        case .string(let text)?: return ["true", "yes", "1"].contains(text.lowercased()) ? true : (["false", "no", "0"].contains(text.lowercased()) ? false : nil)
        default: return nil
        }
    }

    /// The single key a single-result node writes.
    var resultKey: String? { node.writes.first }

    /// `[resultKey: value]`, or nothing for a node that writes nothing.
    func single(_ value: GraphValue) -> [String: GraphValue] {
        guard let key = resultKey else { return [:] }
        return [key: value]
    }
}

/// A node's output and what it spent.
struct NodeResult: Sendable, Equatable {
    var output: [String: GraphValue]
    var usage: TaskUsage?

    init(output: [String: GraphValue], usage: TaskUsage? = nil) {
        self.output = output
        self.usage = usage
    }
}

/// Why a node failed: a stable code, a message, and whether the task should be tried again.
/// A provider's `429` also carries what to report to the governor.
struct NodeFailure: Error, Sendable, Equatable, CustomStringConvertible {
    enum Code: String, Sendable {
        case expression
        case invalidParameter = "invalid_parameter"
        case provider
        case http
        case vector
        case timeout
        case cancelled
        case secret
        case unsupported
        case testFailure = "test_failure"
        case graphUnavailable = "graph_unavailable"
    }

    let code: Code
    let message: String
    let retryable: Bool
    /// For a provider's `429`: how long every worker should leave it alone.
    var throttleMillis: UInt64?

    init(_ code: Code, _ message: String, retryable: Bool = false, throttleMillis: UInt64? = nil) {
        self.code = code
        self.message = message
        self.retryable = retryable
        self.throttleMillis = throttleMillis
    }

    init(_ error: ProviderError) {
        self.init(.provider, error.description, retryable: error.isRetryable, throttleMillis: error.code == .rateLimited ? error.retryAfterMillis ?? 1000 : nil)
    }

    var description: String { "\(code.rawValue): \(message)" }
}

/// The executors by node kind.
enum NodeRegistry {
    static func executor(for kind: NodeKind) -> any NodeExecutor {
        switch kind {
        case .template: return TemplateNode()
        case .transform: return TransformNode()
        case .http: return HTTPNode()
        case .embed: return EmbedNode()
        case .llmChat: return LLMChatNode()
        case .vectorUpsert: return VectorUpsertNode()
        case .vectorQuery: return VectorQueryNode()
        case .subgraph: return SubgraphNode()
        case .testSleep: return TestSleepNode()
        case .testFail: return TestFailNode()
        }
    }
}
