import NakshaCore
/// Word-level text handling shared by the offline providers: lower-cased alphanumeric words,
/// a small English stop-word list, and a light plural stemmer. Deterministic and locale-free.
enum TextFeatures {
    /// The words of `text`: maximal runs of letters and digits, lower-cased.
    static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        for character in text.lowercased() {
            if character.isLetter || character.isNumber {
                current.append(character)
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// The words that carry meaning: no stop words, no single letters, plurals folded.
    static func contentTerms(_ text: String) -> [String] {
        words(text).filter { $0.count > 1 && !stopWords.contains($0) }.map(stem)
    }

    /// Folds the common English plural endings (`leases` → `lease`, `queries` → `query`).
    static func stem(_ word: String) -> String {
        guard word.count > 3, word.allSatisfy({ $0.isLetter }) else { return word }
        if word.hasSuffix("ies") { return String(word.dropLast(3)) + "y" }
        if word.hasSuffix("sses") || word.hasSuffix("ss") || word.hasSuffix("us") || word.hasSuffix("is") { return word }
        if word.hasSuffix("s") { return String(word.dropLast()) }
        return word
    }

    static let stopWords: Set<String> = [
        "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "do", "does", "did", "for", "from",
        "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "no", "not", "of", "on", "or", "our",
        "should", "so", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to", "was", "we",
        "were", "what", "when", "where", "which", "who", "why", "will", "with", "would", "you", "your", "about", "tell",
        "explain", "describe", "please", "give", "show", "use", "used", "using", "s", "one", "any", "all", "also", "may",
        "must", "each", "every", "other", "only", "just", "there", "here", "out", "up", "get", "some", "more", "most",
    ]

    /// FNV-1a of the text's UTF-8: a stable hash (the same on every machine and every run).
    static func fnv1a(_ text: String) -> UInt64 { FNV1a.hash(text.utf8) }

    /// A rough token count for accounting when a provider does not report one: about one
    /// token per four bytes, at least one per word.
    static func estimatedTokens(_ text: String) -> Int {
        max(words(text).count, (text.utf8.count + 3) / 4)
    }
}
