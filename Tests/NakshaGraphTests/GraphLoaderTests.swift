import Foundation
import Testing

@testable import NakshaGraph

@Suite struct GraphLoaderTests {
    @Test(arguments: ["sample_rag.yaml", "summarize.yaml", "research_review.yaml"])
    func sampleGraphsAreValid(file: String) throws {
        let text = try corpusFile("valid", file)
        let known: Set<GraphReference> = [GraphReference(name: "summarize", version: 1)]
        #expect(GraphDefinition.validationLines(yaml: text, fileName: file, knownGraphs: known) == [])
    }

    @Test func sampleRAGLoadsEveryField() throws {
        let graph = try GraphDefinition.load(yaml: try corpusFile("valid", "sample_rag.yaml"), fileName: "sample_rag.yaml")
        #expect(graph.name == "sample_rag")
        #expect(graph.version == 1)
        #expect(graph.maxSteps == 20)
        #expect(graph.state["docs"] == StateKeyDefinition(name: "docs", type: .list, defaultValue: [], position: SourcePosition(line: 11, column: 3)))
        let embed = try #require(graph.nodes["embed"])
        #expect(embed.kind == .embed)
        #expect(embed.writes == ["query_vector"])
        #expect(embed.retry == RetryPolicy(maxAttempts: 3, backoff: .exponential, initialDelayMillis: 200, maxDelayMillis: 5_000))
        #expect(embed.timeoutMillis == 30_000)
        #expect(embed.cache?.ttlMillis == 3_600_000)
        #expect(embed.cache?.key?.source == "state.question")
        #expect(embed.expressions["input"]?.source == "state.question")
        let generate = try #require(graph.nodes["generate"])
        #expect(generate.params["temperature"] == 0.2)
        #expect(generate.retry.backoff == .fixed)
        let prompt = try #require(generate.templates["prompt"])
        #expect(try prompt.render(state: ["question": "why?", "docs": ["a", "b"]]) == "Question: why?\nContext: [\"a\", \"b\"]\n")
        #expect(graph.nodes["retrieve"]?.retry == RetryPolicy.none)
        #expect(graph.edges.count == 5)
    }

    @Test func sampleRAGRunsToTheFallbackWhenNothingIsFound() throws {
        let graph = try GraphDefinition.load(yaml: try corpusFile("valid", "sample_rag.yaml"), fileName: "sample_rag.yaml")
        var driver = try Driver(graph, input: ["question": "what is naksha?"])
        try driver.run { task, state in
            switch task.node {
            case "embed": return ["query_vector": [0.1, 0.2]]
            case "retrieve": return ["docs": []]
            default: return transforms(graph)(task, state)
            }
        }
        #expect(driver.trace.map(\.node) == ["embed", "retrieve", "no_documents"])
        #expect(driver.state.values["answer"] == "I found nothing about that in the documents.")
    }

    @Test func researchReviewSampleRunsFanOutJoinInterruptAndLoop() throws {
        let graph = try loadGraph(try corpusFile("valid", "research_review.yaml"))
        var driver = try Driver(graph, input: ["topic": "raft"])
        let respond: (GraphTask, [String: GraphValue]) -> [String: GraphValue] = { task, state in
            switch task.node {
            case "embed_topic": return ["topic_vector": [0.5]]
            case "search_web": return ["web_hits": [["text": "w1"], ["text": "w2"]]]
            case "search_papers": return ["paper_hits": [["text": "p1"]]]
            case "summarize_hit": return ["summaries": [.string("sum of \(task.item?.mapValue?["text"]?.stringValue ?? "")")]]
            case "draft": return ["report": "report"]
            case "publish": return ["published": ["url": "https://cms.example.com/1"]]
            default: return transforms(graph)(task, state)
            }
        }
        try driver.run(respond: respond)
        #expect(driver.state.status == .interrupted(GraphInterrupt(point: .after, nodes: ["draft"])))
        #expect(driver.state.values["summaries"] == ["sum of w1", "sum of w2", "sum of p1"])
        _ = try driver.planner.resume(&driver.state)
        try driver.run(respond: respond)
        _ = try driver.planner.resume(&driver.state, input: ["approved": true])
        try driver.run(respond: respond)
        #expect(driver.state.status == .finished)
        #expect(driver.state.values["revisions"] == 1)
        #expect(driver.trace.map(\.node).suffix(3) == ["revise", "draft", "publish"])
    }

    @Test func errorDescriptionNamesGraphLineColumnAndSuggestion() throws {
        let text = try corpusFile("invalid", "unknown_node_target.yaml")
        #expect(throws: GraphError.self) { try GraphDefinition.load(yaml: text, fileName: "x.yaml") }
        do {
            _ = try GraphDefinition.load(yaml: text, fileName: "x.yaml")
        } catch {
            #expect(error.description == "graph \"sample_rag\" line 11 column 9: edge to unknown node \"retreive\" (did you mean \"retrieve\"?)")
            #expect(error.code == .unknownNode)
            #expect(error.fileName == "x.yaml")
            #expect(error.renderedLine.hasSuffix("[unknown_node]"))
        }
    }

    @Test func severalErrorsInOneFileAreAllReportedInLineOrder() {
        let yaml = """
            name: many
            version: 1
            state:
              n: { type: int, default: "x" }
            nodes:
              a: { type: template, params: { template: x }, writes: [m] }
              b: { type: bogus }
            edges:
              - { from: START, to: a }
              - { from: a, to: c }
            """
        let found = errors(of: yaml)
        #expect(found.map(\.code) == [.typeMismatch, .unknownStateKey, .unknownNodeType, .unknownNode])
        #expect(found.map(\.line) == [4, 6, 7, 10])
    }

    @Test func fileThatIsNotYAMLGivesASyntaxErrorWithTheFileName() {
        let found = errors(of: "nodes: [a, b\n")
        #expect(found.map(\.code) == [.yamlSyntax])
        #expect(found.first?.graph == "test.yaml")
    }

    @Test(arguments: ["", "just text", "- a\n- b\n"])
    func nonGraphDocumentsAreRejectedNotCrashing(text: String) {
        #expect(!errors(of: text).isEmpty)
    }

    @Test func durationsParseWithUnits() {
        #expect(GraphLoader.parseDurationMillis("250ms") == 250)
        #expect(GraphLoader.parseDurationMillis("30s") == 30_000)
        #expect(GraphLoader.parseDurationMillis("5m") == 300_000)
        #expect(GraphLoader.parseDurationMillis("2h") == 7_200_000)
        #expect(GraphLoader.parseDurationMillis("30") == nil)
        #expect(GraphLoader.parseDurationMillis("-1s") == nil)
        #expect(GraphLoader.parseDurationMillis("99999999999999999999h") == nil)
    }

    @Test func cycleWithConditionalExitIsAccepted() {
        let yaml = """
            name: retry_loop
            version: 1
            state:
              ok: { type: bool, default: false }
            nodes:
              try_it: { type: http, params: { url: "https://x" }, writes: [ok] }
              wait: { type: template, params: { template: w } }
            edges:
              - { from: START, to: try_it }
              - from: try_it
                branches:
                  - { when: state.ok, to: END }
                default: wait
              - { from: wait, to: try_it }
            """
        #expect(errors(of: yaml) == [])
    }

    @Test func joinAfterParallelBranchesIsNotAParallelWrite() {
        let yaml = """
            name: joined
            version: 1
            state:
              a: string
              b: string
              out: string
            nodes:
              left: { type: template, params: { template: l }, writes: [a] }
              right: { type: template, params: { template: r }, writes: [b] }
              merge: { type: template, params: { template: "{{ state.a }}{{ state.b }}" }, writes: [out] }
              again: { type: template, params: { template: x }, writes: [out] }
            edges:
              - { from: START, to: left }
              - { from: START, to: right }
              - { from: [left, right], to: merge }
              - { from: merge, to: again }
              - { from: again, to: END }
            """
        #expect(errors(of: yaml) == [])
    }

    @Test func joinThatFiresWhileALongerBranchRunsIsAParallelWrite() {
        let yaml = """
            name: early_join
            version: 1
            state:
              out: string
            nodes:
              a: { type: template, params: { template: a } }
              b: { type: template, params: { template: b } }
              c: { type: template, params: { template: c }, writes: [out] }
              j: { type: template, params: { template: j }, writes: [out] }
            edges:
              - { from: START, to: a }
              - { from: START, to: b }
              - { from: b, to: c }
              - { from: [a, b], to: j }
              - { from: c, to: END }
              - { from: j, to: END }
            """
        // Step 1 runs a and b; step 2 runs c (after b) and j (the join is complete) together.
        #expect(errors(of: yaml).map(\.code) == [.parallelWrite])
    }

    @Test func everyErrorCodeHasAStableName() {
        let names = GraphError.Code.all.map(\.description)
        #expect(Set(names).count == names.count)
        #expect(names.allSatisfy { $0.allSatisfy { $0.isLowercase || $0 == "_" } })
    }

    @Test func editDistanceSuggestsCloseNamesOnly() {
        #expect(Spelling.suggestion(for: "retreive", among: ["retrieve", "generate"]) == "retrieve")
        #expect(Spelling.suggestion(for: "xyz", among: ["retrieve", "generate"]) == nil)
        #expect(Spelling.editDistance("kitten", "sitting") == 3)
        #expect(Spelling.editDistance("ab", "ba") == 1)
    }
}
