/// Typo suggestions by edit distance.
enum Spelling {
    /// The candidate closest to `word` if it is plausibly a typo of it: at most two edits
    /// (one for words of up to four characters) and closer than any other candidate;
    /// ties go to the alphabetically first candidate, so the result is deterministic.
    static func suggestion(for word: String, among candidates: some Sequence<String>) -> String? {
        let limit = word.count <= 4 ? 1 : 2
        var best: (distance: Int, name: String)?
        for candidate in candidates where candidate != word {
            let distance = editDistance(word.lowercased(), candidate.lowercased())
            guard distance <= limit else { continue }
            if let current = best, (current.distance, current.name) <= (distance, candidate) { continue }
            best = (distance, candidate)
        }
        return best?.name
    }

    /// `" (did you mean "x"?)"` or the empty string.
    static func hint(for word: String, among candidates: some Sequence<String>) -> String {
        guard let match = suggestion(for: word, among: candidates) else { return "" }
        return " (did you mean \"\(match)\"?)"
    }

    /// Damerau–Levenshtein distance (optimal string alignment: insert, delete, substitute,
    /// swap two adjacent characters), O(n·m) time.
    static func editDistance(_ left: String, _ right: String) -> Int {
        let a = Array(left)
        let b = Array(right)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previousPrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    value = min(value, previousPrevious[j - 2] + 1)
                }
                current[j] = value
            }
            (previousPrevious, previous, current) = (previous, current, previousPrevious)
        }
        return previous[b.count]
    }
}
