/// The node types a graph may use, and the parameters each one understands.
///
/// Invariant: every parameter named in `expressionParams` holds an expression string,
/// every one in `templateParams` a text template with `{{ expression }}` holes; the loader
/// parses both once, so a worker never meets a syntax error at run time.
public enum NodeKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// Embeds text: `input` (expression giving a string or a list of strings), `model`.
    case embed
    /// Nearest-neighbour search: `collection` (template), `vector` (expression), `topK`, `minScore`.
    case vectorQuery = "vector.query"
    /// Writes vectors: `collection` (template), `vectors` (expression), `ids` and `payloads` (expressions).
    case vectorUpsert = "vector.upsert"
    /// Chat completion: `prompt` (template), `system` (template), `model`, `temperature`, `maxTokens`.
    case llmChat = "llm.chat"
    /// An HTTP request: `url` (template), `method`, `headers` (map of templates), `body` (expression).
    case http
    /// Renders `template` (a text template) into a string.
    case template
    /// Computes state updates: `set` maps each written key to an expression.
    case transform
    /// Runs another registered graph: `graph` (`name@version`), `input` (map of expressions).
    case subgraph
    /// Test only: waits `millis` (default 1000), honouring cancellation, and writes nothing.
    case testSleep = "test.sleep"
    /// Test only: fails with `message`; `retryable` (default true) classifies the failure, and
    /// from attempt `succeedOnAttempt` on (if given) it succeeds, writing nothing.
    case testFail = "test.fail"

    /// Kinds in the `test.` namespace exist for tests and demos of failure handling.
    public var isTestKind: Bool { rawValue.hasPrefix("test.") }

    /// Parameters that must be present.
    var requiredParams: [String] {
        switch self {
        case .embed: return ["input"]
        case .vectorQuery: return ["collection", "vector"]
        case .vectorUpsert: return ["collection", "vectors"]
        case .llmChat: return ["prompt"]
        case .http: return ["url"]
        case .template: return ["template"]
        case .transform: return ["set"]
        case .subgraph: return ["graph"]
        case .testSleep, .testFail: return []
        }
    }

    /// Parameters whose string value is an expression.
    var expressionParams: [String] {
        switch self {
        case .embed: return ["input"]
        case .vectorQuery: return ["vector"]
        case .vectorUpsert: return ["vectors", "ids", "payloads"]
        case .http: return ["body"]
        case .llmChat, .template, .transform, .subgraph, .testSleep, .testFail: return []
        }
    }

    /// Parameters whose string value is a text template.
    var templateParams: [String] {
        switch self {
        case .llmChat: return ["prompt", "system"]
        case .http: return ["url"]
        case .template: return ["template"]
        case .vectorQuery, .vectorUpsert: return ["collection"]
        case .embed, .transform, .subgraph, .testSleep, .testFail: return []
        }
    }

    /// Parameters that are maps whose values are expressions.
    var expressionMapParams: [String] {
        switch self {
        case .transform: return ["set"]
        case .subgraph: return ["input"]
        case .embed, .vectorQuery, .vectorUpsert, .llmChat, .http, .template, .testSleep, .testFail: return []
        }
    }

    /// Whether the node produces one result, written to its single `writes` key.
    var producesSingleResult: Bool {
        switch self {
        case .embed, .vectorQuery, .llmChat, .http, .template: return true
        case .vectorUpsert, .transform, .subgraph, .testSleep, .testFail: return false
        }
    }
}
