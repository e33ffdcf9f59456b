import NakshaCore
import Testing

@testable import NakshaCLI

/// How `naksha ingest` cuts documents into chunks: stable ids, bounded sizes, headings as
/// titles, code fences kept whole, tiny fragments dropped.
@Suite struct DocumentChunkerTests {
    static let guide = """
        Naksha runs workflow graphs on a pool of workers.

        # Leases

        Workers hold leases on the tasks they run and renew them with heartbeats.

        ## Heartbeats

        A worker sends a heartbeat every third of the lease duration, so one lost heartbeat does not expire a lease.
        """

    @Test func chunkIDsAreStableAcrossRuns() {
        let first = DocumentChunker().chunks(source: "docs/guide.md", text: Self.guide)
        let second = DocumentChunker().chunks(source: "docs/guide.md", text: Self.guide)
        #expect(first.count == 3)
        #expect(first == second)
        #expect(Set(first.map(\.id)).count == first.count, "distinct chunks have distinct ids")
    }

    /// Golden: the id is the first 32 hex digits of SHA-256 over `source`, a newline and the
    /// chunk's text (`printf 'docs/a.md\nWorkers hold leases on the tasks they run.' | sha256sum`),
    /// so it is the same on every machine and in every release: re-ingesting replaces chunks.
    @Test func aChunkIDIsTheDigestOfItsSourceAndText() throws {
        let chunk = try #require(DocumentChunker().chunks(source: "docs/a.md", text: "Workers hold leases on the tasks they run.\n").first)
        #expect(chunk.text == "Workers hold leases on the tasks they run.")
        #expect(chunk.id == "45e396c0373a12d930fd066bf263bb17")
    }

    @Test func theSameTextFromAnotherSourceHasAnotherID() {
        let a = DocumentChunker().chunks(source: "docs/a.md", text: Self.guide)
        let b = DocumentChunker().chunks(source: "docs/b.md", text: Self.guide)
        #expect(a.map(\.text) == b.map(\.text))
        #expect(b.allSatisfy { $0.source == "docs/b.md" })
        #expect(Set(a.map(\.id)).isDisjoint(with: b.map(\.id)))
    }

    @Test func headingsBecomeTheTitlesOfTheirChunks() {
        let chunks = DocumentChunker().chunks(source: "guide.md", text: Self.guide)
        #expect(chunks.map(\.title) == ["", "Leases", "Heartbeats"])
        #expect(chunks.map(\.text) == [
            "Naksha runs workflow graphs on a pool of workers.",
            "Leases.\n\nWorkers hold leases on the tasks they run and renew them with heartbeats.",
            "Heartbeats.\n\nA worker sends a heartbeat every third of the lease duration, so one lost heartbeat does not expire a lease.",
        ])
    }

    @Test func aSectionLongerThanAChunkKeepsItsTitleInEveryChunk() {
        let paragraph = "Each worker leases tasks from the leader and renews its leases with heartbeats."
        let text = "# Workers\n\n" + Array(repeating: paragraph, count: 30).joined(separator: "\n\n")
        let chunks = DocumentChunker().chunks(source: "workers.md", text: text)
        #expect(chunks.count > 2)
        #expect(chunks.allSatisfy { $0.title == "Workers" })
    }

    @Test func codeFencesStayWholeInsideOneChunk() throws {
        let code = """
            ```bash
            # start a worker (this comment is not a heading)
            naksha worker --coordinator 127.0.0.1:7401 \\
              --capacity 4

            naksha worker status --json
            ```
            """
        let text = """
            # Running a worker

            Start a worker with the command below; it registers with the leader and leases tasks.

            \(code)

            After the worker registers, the cluster status lists it with its capacity and labels.
            """
        // Small chunks, so that the code cannot share its chunk with the prose around it.
        let chunker = DocumentChunker(targetCharacters: 120, maxCharacters: 400)
        let chunks = chunker.chunks(source: "run.md", text: text)
        let withCode = chunks.filter { $0.text.contains("```") }
        #expect(withCode.count == 1, "\(chunks.map(\.text))")
        #expect(try #require(withCode.first).text.contains(code))
        #expect(chunks.allSatisfy { $0.title == "Running a worker" }, "a # line inside a fence is not a heading")
    }

    @Test func aCodeFenceRightAfterProseIsNotCutWhenItFitsInAChunk() throws {
        let lines = (1...15).map { "naksha job submit --graph summarize --input '{\"text\": \"document \($0)\"}'" }
        let code = "```bash\n" + lines.joined(separator: "\n") + "\n```"
        #expect(code.count < DocumentChunker().maxCharacters)
        let prose = Array(repeating: "Submit many jobs from a shell script, one per document.", count: 4).joined(separator: " ")
        #expect(prose.count + code.count > DocumentChunker().maxCharacters, "prose and code together are over a chunk")
        // Markdown lets a fence follow its paragraph without a blank line.
        let text = "# Batch submission\n\n\(prose)\n\(code)\n\nEach job runs on its own."
        let chunks = DocumentChunker().chunks(source: "batch.md", text: text)
        let withCode = chunks.filter { $0.text.contains("```") }
        #expect(withCode.count == 1, "the fence was cut: \(chunks.map(\.text))")
        #expect(withCode.first?.text.contains(code) == true)
    }

    @Test func fragmentsOfFewerThanFiveWordsAreDropped() {
        let text = """
            # Title

            Too short.

            # Next

            This paragraph has more than five words in it.

            # Empty section

            # Last
            """
        let chunks = DocumentChunker().chunks(source: "short.md", text: text)
        #expect(chunks.map(\.text) == ["Next.\n\nThis paragraph has more than five words in it."])
        // A document that is all fragment (a short row of `ingest --sql`) is still one chunk.
        #expect(DocumentChunker().chunks(source: "hi.md", text: "Hi there, you.").map(\.text) == ["Hi there, you."])
        #expect(DocumentChunker().chunks(source: "empty.md", text: "").isEmpty)
    }

    @Test func aLongParagraphWithoutSentenceEndsIsCutAtMaxCharacters() {
        let text = Array(repeating: "word", count: 1000).joined(separator: " ")  // 4,999 characters, no sentence end
        let chunker = DocumentChunker()
        let chunks = chunker.chunks(source: "wall.txt", text: text)
        #expect(chunks.count >= 5)
        #expect(chunks.allSatisfy { $0.text.count <= chunker.maxCharacters })
        #expect(chunks.map(\.text).joined().filter { $0 != " " }.count == 4000, "no letter lost")
    }

    /// A seeded random Markdown document: sections of paragraphs of sentences, some
    /// paragraphs longer than a chunk.
    static func randomDocument(seed: UInt64) -> (text: String, words: [String], longestSentence: Int) {
        var generator = SeededGenerator(seed: seed)
        let vocabulary = [
            "lease", "worker", "task", "heartbeat", "coordinator", "leader", "graph", "vector", "index", "query", "snapshot", "replica",
            "timeout", "retry", "provider", "embedding", "chunk", "document",
        ]
        var lines: [String] = []
        var words: [String] = []
        var longest = 0
        for section in 0..<Int.random(in: 2...6, using: &generator) {
            lines += ["## Section \(section)", ""]
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                var sentences: [String] = []
                for _ in 0..<Int.random(in: 1...30, using: &generator) {
                    let sentenceWords = (0..<Int.random(in: 3...15, using: &generator)).map { _ in
                        vocabulary[Int(generator.next(below: UInt64(vocabulary.count)))]
                    }
                    words += sentenceWords
                    let sentence = sentenceWords.joined(separator: " ") + "."
                    longest = max(longest, sentence.count + 1)
                    sentences.append(sentence)
                }
                lines += [sentences.joined(separator: " "), ""]
            }
        }
        return (lines.joined(separator: "\n"), words, longest)
    }

    @Test(arguments: [DocumentChunker(), DocumentChunker(targetCharacters: 200, maxCharacters: 400)], 1...25)
    func noChunkExceedsMaxCharactersByMoreThanOneSentence(chunker: DocumentChunker, seed: UInt64) {
        let document = Self.randomDocument(seed: seed)
        let chunks = chunker.chunks(source: "random-\(seed).md", text: document.text)
        for chunk in chunks {
            #expect(
                chunk.text.count <= chunker.maxCharacters + document.longestSentence,
                "seed \(seed): a chunk of \(chunk.text.count) characters")
            #expect(chunk.text.hasSuffix("."), "seed \(seed): cut inside a sentence: …\(chunk.text.suffix(40))")
            #expect(chunk.title.hasPrefix("Section "))
        }
        // Every word of every paragraph is in exactly one chunk, in order.
        let chunkWords = chunks.flatMap { $0.text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "." }).map(String.init) }
            .filter { !$0.hasPrefix("Section") && Int($0) == nil }
        #expect(chunkWords == document.words, "seed \(seed)")
    }
}

extension DocumentChunker: CustomTestStringConvertible {
    public var testDescription: String { "DocumentChunker(target: \(targetCharacters), max: \(maxCharacters))" }
}
