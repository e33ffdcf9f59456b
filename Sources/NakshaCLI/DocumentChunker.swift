import Foundation
import NakshaCore

/// Splits text documents into chunks for retrieval: Markdown is cut at headings, blank lines
/// and code fences, paragraphs are packed up to `targetCharacters` (a fragment of under five
/// words stays with its neighbour), a paragraph longer than `maxCharacters` is cut at
/// sentence ends (or hard, as a last resort), and each chunk remembers its section heading.
///
/// A chunk's id is a digest of its source and text, so the same chunk always has the same id
/// (re-ingesting replaces, never duplicates).
struct DocumentChunker {
    struct Chunk: Equatable {
        var id: String
        var source: String
        var title: String
        var text: String
    }

    var targetCharacters = 700
    var maxCharacters = 1200

    func chunks(source: String, text: String) -> [Chunk] {
        var chunks: [Chunk] = []
        var title = ""
        var pending: [String] = []
        var pendingTitle = ""
        func flush(last: Bool = false) {
            let body = pending.joined(separator: "\n\n").trimmingCharacters(in: .whitespacesAndNewlines)
            pending = []
            // A fragment is dropped, unless it is the whole document (a short row or note is
            // still a document).
            guard !Self.isFragment(body) || (last && chunks.isEmpty && !body.isEmpty) else { return }
            let digest = SHA256.hexDigest(Array("\(source)\n\(body)".utf8))
            chunks.append(Chunk(id: String(digest.prefix(32)), source: source, title: pendingTitle, text: body))
        }
        var inCode = false
        var paragraph: [String] = []
        func endParagraph() {
            let joined = paragraph.joined(separator: "\n")
            paragraph = []
            guard !joined.trimmingCharacters(in: .whitespaces).isEmpty else { return }
            for piece in split(joined) {
                if pending.isEmpty { pendingTitle = title }
                // A fragment (a paragraph's last short sentence, a heading, a one-line
                // paragraph) stays with its neighbour, over the target by its few words:
                // on its own it would be dropped as a chunk of under five words.
                if pending.reduce(0, { $0 + $1.count }) + piece.count > targetCharacters, !pending.isEmpty,
                    !Self.isFragment(piece), !Self.isFragment(pending.joined(separator: " "))
                {
                    flush()
                    pendingTitle = title
                }
                pending.append(piece)
            }
        }
        // "\r\n" is one Character in Swift: normalise line ends before splitting.
        let normalised = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        for line in normalised.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("```") {
                // A code block is a paragraph of its own (even right after a line of prose),
                // so that it is cut only when it alone is longer than `maxCharacters`.
                if !inCode { endParagraph() }
                inCode.toggle()
                paragraph.append(line)
                if !inCode { endParagraph() }
                continue
            }
            if !inCode, line.hasPrefix("#") {
                endParagraph()
                flush()
                title = line.drop { $0 == "#" || $0 == " " }.trimmingCharacters(in: .whitespaces)
                paragraph.append(title + ".")
                continue
            }
            if !inCode, line.trimmingCharacters(in: .whitespaces).isEmpty {
                endParagraph()
                continue
            }
            paragraph.append(line)
        }
        endParagraph()
        flush(last: true)
        return chunks
    }

    /// Text of under five words: not a chunk of its own.
    private static func isFragment(_ text: String) -> Bool {
        text.split(whereSeparator: { $0.isWhitespace }).count < 5
    }

    /// A paragraph as pieces of at most `maxCharacters`, cut at sentence ends where possible.
    private func split(_ paragraph: String) -> [String] {
        guard paragraph.count > maxCharacters else { return [paragraph] }
        var pieces: [String] = []
        var current = ""
        for character in paragraph {
            current.append(character)
            if current.count >= targetCharacters, ".!?\n".contains(character) || current.count >= maxCharacters {
                pieces.append(current)
                current = ""
            }
        }
        if !current.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { pieces.append(current) }
        return pieces
    }
}
