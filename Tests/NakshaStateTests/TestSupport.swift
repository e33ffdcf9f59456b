import NakshaCore
import NakshaGraph
import Testing

@testable import NakshaState

/// Two small graphs used across the suites.
enum Graphs {
    /// retrieve (3 attempts, exponential 1 s … 10 s) → generate (no retry) → END.
    static let pipeline = """
        name: pipeline
        version: 1
        state:
          question: string
          docs: string
          answer: string
        nodes:
          retrieve:
            type: template
            params: { template: "docs for {{ state.question }}" }
            writes: [docs]
            retry: { maxAttempts: 3, backoff: exponential, initialDelay: 1000ms, maxDelay: 10000ms }
          generate: { type: template, params: { template: "answer" }, writes: [answer] }
        edges:
          - { from: START, to: retrieve }
          - { from: retrieve, to: generate }
          - { from: generate, to: END }
        """

    /// write → (interrupt before) send → END.
    static let approval = """
        name: approval
        version: 1
        state:
          draft: string
          approved: { type: bool, default: false }
          sent: { type: bool, default: false }
        nodes:
          write: { type: template, params: { template: draft }, writes: [draft] }
          send: { type: transform, params: { set: { sent: "true" } }, interrupt: before }
        edges:
          - { from: START, to: write }
          - { from: write, to: send }
          - { from: send, to: END }
        """

    /// One `llm.chat` node (provider key `llm.chat:gpt-4o-mini`) → END.
    static let chat = """
        name: chat
        version: 1
        state:
          question: string
          answer: string
        nodes:
          answer:
            type: llm.chat
            params: { model: gpt-4o-mini, prompt: "{{ state.question }}" }
            writes: [answer]
        edges:
          - { from: START, to: answer }
          - { from: answer, to: END }
        """

    /// One `answer` node: the graph `delegate` calls.
    static let helper = """
        name: helper
        version: 1
        state:
          question: string
          answer: string
        nodes:
          answer: { type: template, params: { template: "from the child" }, writes: [answer] }
        edges:
          - { from: START, to: answer }
          - { from: answer, to: END }
        """

    /// A subgraph call of `helper@1` (a child job), retried once.
    static let delegate = """
        name: delegate
        version: 1
        state:
          question: string
          answer: string
        nodes:
          ask:
            type: subgraph
            params: { graph: helper@1, input: { question: state.question } }
            writes: [answer]
            retry: { maxAttempts: 2, backoff: fixed, initialDelay: 10ms }
        edges:
          - { from: START, to: ask }
          - { from: ask, to: END }
        """

    /// A valid output for each node of the graphs above.
    static func output(for node: String) -> [String: GraphValue] {
        switch node {
        case "retrieve": return ["docs": "d"]
        case "generate", "answer": return ["answer": "a"]
        case "write": return ["draft": "hello"]
        case "send": return ["sent": true]
        default: return [:]
        }
    }

    static func hash(_ yaml: String) -> String { String(ClusterState.fnv1a(Array(yaml.utf8)), radix: 16) }
}

/// Drives one `ClusterState` with increasing indexes and a leader clock.
struct Harness {
    var state: ClusterState
    var index: UInt64 = 0
    var now: UInt64 = 1_700_000_000_000

    init(limits: ClusterLimits = ClusterLimits()) {
        state = ClusterState(limits: limits)
    }

    var nextContext: CommandContext { CommandContext(index: index + 1, term: 1, timestampMillis: now) }

    @discardableResult
    mutating func apply(_ command: ClusterCommand, after millis: UInt64 = 1) -> ClusterResult {
        index += 1
        now += millis
        return state.apply(command, context: CommandContext(index: index, term: 1, timestampMillis: now))
    }

    @discardableResult
    mutating func register(_ yaml: String) throws -> GraphVersionInfo {
        let name = try GraphDefinition.load(yaml: yaml, fileName: "test").name
        guard case .success(.graphRegistered(let info, _)) = apply(.registerGraph(RegisterGraph(name: name, yaml: yaml, contentHash: Graphs.hash(yaml)))) else {
            throw HarnessError.unexpected("register \(name)")
        }
        return info
    }

    mutating func submit(_ graph: String, input: [String: GraphValue] = [:], key: String? = nil, priority: Int = 0, fairnessKey: String? = nil) throws -> JobID {
        let result = apply(
            .submitJob(SubmitJob(graph: .named(graph, version: nil), input: input, idempotencyKey: key, priority: priority, fairnessKey: fairnessKey)))
        guard case .success(.jobSubmitted(let id, _, _)) = result else { throw HarnessError.unexpected("submit: \(result)") }
        return id
    }

    mutating func addWorker(_ id: WorkerID, capacity: Int = 100, shardAddress: String? = nil) {
        apply(.registerWorker(RegisterWorker(worker: id, capacity: capacity, shardAddress: shardAddress)))
    }

    mutating func lease(_ worker: WorkerID = "w1", max: Int = 10, durationMillis: UInt64 = 30_000) throws -> [TaskAssignment] {
        let result = apply(.leaseTasks(LeaseTasks(worker: worker, max: max, leaseDurationMillis: durationMillis)))
        guard case .success(.tasksLeased(let tasks)) = result else { throw HarnessError.unexpected("lease: \(result)") }
        return tasks
    }

    @discardableResult
    mutating func complete(_ assignment: TaskAssignment, output: [String: GraphValue]? = nil) -> ClusterResult {
        apply(.completeTask(CompleteTask(task: assignment.task, token: assignment.token, output: output ?? Graphs.output(for: assignment.node))))
    }
}

enum HarnessError: Error { case unexpected(String) }

extension ClusterResult {
    var errorCode: ClusterError.Code? {
        if case .failure(let error) = self { return error.code }
        return nil
    }
}
