import Foundation
import NakshaProviders
import Testing

/// The offline answerer (`offline-extractive`): it quotes the sentences that answer, cites
/// them, and says so when the passages do not hold the answer.
@Suite struct ExtractiveAnswererTests {
    typealias Passage = ExtractiveAnswerer.Passage

    static let passages = [
        Passage(
            source: "leases.md",
            text: """
                Workers hold leases on the tasks they run. A lease expires when the worker misses heartbeats \
                for the whole lease duration. The coordinator then grants the task to another worker.
                """),
        Passage(
            source: "vectors.md",
            text: "The vector index uses HNSW graphs for approximate nearest neighbour search over the chunks."),
    ]

    @Test func aQuestionThePassagesAnswerQuotesTheAnsweringSentenceAndCitesItsSource() {
        let answer = ExtractiveAnswerer().answer(question: "When does a lease expire?", passages: Self.passages)
        #expect(answer.found)
        let sentence = "A lease expires when the worker misses heartbeats for the whole lease duration."
        #expect(answer.text.hasPrefix("\(sentence) [leases.md]"), "the best sentence comes first: \(answer.text)")
        #expect(answer.sources == ["leases.md"])
        #expect(!answer.text.contains("HNSW"), "an unrelated passage is not quoted: \(answer.text)")
    }

    @Test func anAnswerFromTwoPassagesCitesBoth() {
        let answer = ExtractiveAnswerer().answer(question: "Which index does vector search use, and when does a lease expire?", passages: Self.passages)
        #expect(answer.found)
        #expect(answer.text.contains("HNSW graphs") && answer.text.contains("[vectors.md]"), "\(answer.text)")
        #expect(answer.text.contains("[leases.md]"), "\(answer.text)")
        #expect(Set(answer.sources) == ["leases.md", "vectors.md"])
    }

    @Test func aQuestionAboutSomethingAbsentIsNotFound() {
        let answer = ExtractiveAnswerer().answer(question: "What is the capital of France?", passages: Self.passages)
        #expect(!answer.found)
        #expect(answer.text == ExtractiveAnswerer.notFoundAnswer)
        #expect(answer.text.contains("not found in the documents"))
        #expect(answer.sources.isEmpty)
    }

    @Test func noPassagesIsNotFound() {
        let answer = ExtractiveAnswerer().answer(question: "When does a lease expire?", passages: [])
        #expect(!answer.found)
        #expect(answer.text == ExtractiveAnswerer.notFoundAnswer)
    }

    @Test func tablesCodeFencesAndHeadingsAreNotQuoted() {
        let markdown = """
            # Lease expiry of worker tasks

            | lease | expires after worker misses heartbeats |
            |-------|----------------------------------------|
            | task  | expires after worker misses heartbeats |

            ```swift
            let lease = expire(worker) // the lease expires when the worker misses heartbeats
            ```

            A lease expires after the worker misses three heartbeats in a row.
            """
        let answer = ExtractiveAnswerer().answer(question: "When does a worker lease expire?", passages: [Passage(source: "ops.md", text: markdown)])
        #expect(answer.found)
        #expect(answer.text == "A lease expires after the worker misses three heartbeats in a row. [ops.md]")
        for fragment in ["|", "```", "let lease", "#"] {
            #expect(!answer.text.contains(fragment), "\(fragment) quoted: \(answer.text)")
        }
    }

    @Test func parseReadsTheQuestionAndAJSONListContext() {
        let prompt = #"""
            Answer from the context only.
            Question: How long does a lease last?
            Context: [{"source": "a.md", "text": "He said \"leases last 30 s\".\nThey are renewed by heartbeats."},
              {"title": "b.md", "chunk": "Chunks are searched by cosine similarity."},
              {"content": "A passage with no name."},
              {"source": "empty.md", "text": ""}]
            """#
        let parsed = ExtractiveAnswerer.parse(prompt: prompt)
        #expect(parsed.question == "How long does a lease last?")
        #expect(
            parsed.passages == [
                Passage(source: "a.md", text: "He said \"leases last 30 s\".\nThey are renewed by heartbeats."),
                Passage(source: "b.md", text: "Chunks are searched by cosine similarity."),
                Passage(source: "passage 3", text: "A passage with no name."),
            ])
    }

    @Test func parseReadsAContextThatStartsOnTheNextLine() {
        let prompt = """
            Question: What renews a lease?
            Context:
            [
              {"source": "a.md", "text": "Heartbeats renew a lease."}
            ]
            """
        let parsed = ExtractiveAnswerer.parse(prompt: prompt)
        #expect(parsed.question == "What renews a lease?")
        #expect(parsed.passages == [Passage(source: "a.md", text: "Heartbeats renew a lease.")])
    }

    @Test func aNonJSONContextIsOnePassageNamedContext() throws {
        let parsed = ExtractiveAnswerer.parse(prompt: "Question: What renews a lease?\nContext: Heartbeats renew a lease every second.\nThey are cheap.")
        #expect(parsed.question == "What renews a lease?")
        let passage = try #require(parsed.passages.first)
        #expect(parsed.passages.count == 1)
        #expect(passage.source == "context")
        #expect(passage.text.trimmingCharacters(in: .whitespaces) == "Heartbeats renew a lease every second.\nThey are cheap.")
    }

    /// A plain-text context that happens to hold a bracketed list (a citation such as `[3]`)
    /// is still plain text, not a JSON list with no passages.
    @Test func aPlainTextContextWithBracketsIsOnePassage() throws {
        let parsed = ExtractiveAnswerer.parse(prompt: "Question: What renews a lease?\nContext: Heartbeats renew a lease every second [3].")
        #expect(parsed.passages.count == 1)
        #expect(parsed.passages.first?.source == "context")
        let answer = ExtractiveAnswerer().answer(question: parsed.question, passages: parsed.passages)
        #expect(answer.found, "\(answer.text)")
    }

    @Test func aPromptWithoutMarkersIsAllQuestionAndNoPassages() {
        let parsed = ExtractiveAnswerer.parse(prompt: "When does a lease expire?")
        #expect(parsed.question == "When does a lease expire?")
        #expect(parsed.passages.isEmpty)
    }

    @Test func aParsedPromptIsAnsweredFromItsPassages() {
        let prompt = #"""
            Question: When does a lease expire?
            Context: [{"source": "leases.md", "text": "A lease expires when the worker misses heartbeats for the whole lease duration."}]
            """#
        let parsed = ExtractiveAnswerer.parse(prompt: prompt)
        let answer = ExtractiveAnswerer().answer(question: parsed.question, passages: parsed.passages)
        #expect(answer.found)
        #expect(answer.text == "A lease expires when the worker misses heartbeats for the whole lease duration. [leases.md]")
    }
}
