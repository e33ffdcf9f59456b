/// The built-in offline answerer (`offline-extractive`): it composes an answer from the
/// passages it is given, choosing the sentences that share the most content words with the
/// question, and cites each sentence's source as `[source]`.
///
/// It never invents: when no passage covers at least half of the question's content words,
/// the answer says the answer was not found in the documents (`notFoundAnswer`).
public struct ExtractiveAnswerer: Sendable {
    public static let model = "offline-extractive"
    /// The answer when the passages do not cover the question.
    public static let notFoundAnswer = "The answer was not found in the documents."

    /// One retrieved passage and where it came from.
    public struct Passage: Sendable, Equatable {
        public var source: String
        public var text: String

        public init(source: String, text: String) {
            self.source = source
            self.text = text
        }
    }

    public struct Answer: Sendable, Equatable {
        public var text: String
        /// The sources cited, in the order first cited.
        public var sources: [String]
        public var found: Bool
    }

    /// The most sentences an answer quotes.
    public var maxSentences: Int
    /// The share of the question's content words the best passage must contain.
    public var minimumCoverage: Double

    public init(maxSentences: Int = 3, minimumCoverage: Double = 0.5) {
        self.maxSentences = maxSentences
        self.minimumCoverage = minimumCoverage
    }

    public func answer(question: String, passages: [Passage]) -> Answer {
        let questionTerms = Set(TextFeatures.contentTerms(question))
        guard !questionTerms.isEmpty else { return notFound }
        // Coverage is judged per passage, so that scattered common words do not add up.
        let passageTerms = passages.map { Set(TextFeatures.contentTerms($0.text)) }
        let best = passageTerms.map { Double($0.intersection(questionTerms).count) / Double(questionTerms.count) }.max() ?? 0
        guard best >= minimumCoverage else { return notFound }

        struct Candidate {
            var sentence: String
            var source: String
            var score: Double
            var order: Int
        }
        var candidates: [Candidate] = []
        for (index, passage) in passages.enumerated() {
            for sentence in Self.sentences(passage.text) {
                let terms = Set(TextFeatures.contentTerms(sentence))
                let matched = terms.intersection(questionTerms).count
                guard matched > 0 else { continue }
                // Favour sentences that match many question words and few others.
                let score = Double(matched) + Double(matched) / Double(max(terms.count, 1))
                candidates.append(Candidate(sentence: sentence, source: passage.source, score: score, order: candidates.count + index))
            }
        }
        var chosen: [Candidate] = []
        var seen: Set<String> = []
        for candidate in candidates.sorted(by: { ($0.score, -$0.order) > ($1.score, -$1.order) }) where chosen.count < maxSentences {
            guard seen.insert(candidate.sentence).inserted else { continue }
            chosen.append(candidate)
        }
        guard !chosen.isEmpty else { return notFound }
        var sources: [String] = []
        var parts: [String] = []
        for candidate in chosen {
            if !sources.contains(candidate.source) { sources.append(candidate.source) }
            parts.append("\(candidate.sentence) [\(candidate.source)]")
        }
        return Answer(text: parts.joined(separator: " "), sources: sources, found: true)
    }

    private var notFound: Answer { Answer(text: Self.notFoundAnswer, sources: [], found: false) }

    /// Sentences of a passage. Markdown is read as blocks: paragraphs (their lines joined),
    /// list items one by one, headings, tables and code fences skipped; emphasis and code marks
    /// are removed. Fragments under five words are dropped.
    static func sentences(_ text: String) -> [String] {
        var units: [String] = []
        var paragraph: [String] = []
        var inCode = false
        func endParagraph() {
            if !paragraph.isEmpty { units.append(paragraph.joined(separator: " ")) }
            paragraph = []
        }
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = String(rawLine).trimming(" \t")
            if line.hasPrefix("```") {
                inCode.toggle()
                endParagraph()
                continue
            }
            if inCode || line.hasPrefix("|") || line.hasPrefix("#") {
                endParagraph()
                continue
            }
            if line.isEmpty {
                endParagraph()
            } else if line.hasPrefix("- ") || line.hasPrefix("* ") || line.hasPrefix("+ ") || line.first?.isNumber == true && line.contains(". ") && line.count > 3 && line.prefix(4).contains(".") {
                endParagraph()
                paragraph.append(String(line.drop { $0 != " " }).trimming(" "))
            } else {
                paragraph.append(line)
            }
        }
        endParagraph()
        var sentences: [String] = []
        for unit in units {
            let clean = unit.replacingAll(["**", "`", "__"], with: "").trimming(" >")
            let characters = Array(clean)
            var current = ""
            for (index, character) in characters.enumerated() {
                current.append(character)
                let atEnd = index + 1 == characters.count || characters[index + 1] == " "
                if ".!?".contains(character), atEnd {
                    sentences.append(current)
                    current = ""
                }
            }
            sentences.append(current)
        }
        return sentences.map { $0.trimming(" \t") }.filter { TextFeatures.words($0).count >= 5 }
    }

    /// Reads a chat prompt the way the offline answerer needs it: the question is the text
    /// after `Question:` on its line (else the whole prompt); the passages are the JSON list
    /// of objects after `Context:` — each object's `text` (or `chunk`, `content`) with its
    /// `source` (or `title`, `id`) — else the context's text as one passage.
    public static func parse(prompt: String) -> (question: String, passages: [Passage]) {
        var question = prompt
        var context = ""
        let lines = prompt.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (index, line) in lines.enumerated() {
            let trimmed = line.trimming(" \t")
            if trimmed.lowercased().hasPrefix("question:") {
                question = String(trimmed.dropFirst("question:".count)).trimming(" \t")
            } else if trimmed.lowercased().hasPrefix("context:") {
                context = ([String(trimmed.dropFirst("context:".count))] + lines[(index + 1)...]).joined(separator: "\n")
                break
            }
        }
        let passages = JSONPassages.decode(context) ?? (context.trimming(" \t\n").isEmpty ? [] : [Passage(source: "context", text: context)])
        return (question, passages)
    }
}

extension String {
    func trimming(_ characters: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, characters.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, characters.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }

    func replacingAll(_ needles: [String], with replacement: String) -> String {
        var text = self
        for needle in needles { text = text.split(separator: needle, omittingEmptySubsequences: false).joined(separator: replacement) }
        return text
    }
}
