import Foundation

/// Decodes the passages a prompt's context holds as JSON (a list of objects), for the
/// offline answerer.
enum JSONPassages {
    static func decode(_ context: String) -> [ExtractiveAnswerer.Passage]? {
        guard let start = context.firstIndex(of: "["), let end = context.lastIndex(of: "]"), start < end else { return nil }
        let json = Data(context[start...end].utf8)
        guard let list = (try? JSONSerialization.jsonObject(with: json)) as? [Any] else { return nil }  // not JSON: plain text context
        // A bracketed list in plain text (a citation such as "[3]") is not a list of passages.
        guard list.allSatisfy({ $0 is [String: Any] }) else { return nil }
        var passages: [ExtractiveAnswerer.Passage] = []
        for (index, element) in list.enumerated() {
            guard let object = element as? [String: Any] else { continue }
            let text = ["text", "chunk", "content"].lazy.compactMap { object[$0] as? String }.first
            guard let text, !text.isEmpty else { continue }
            let source = ["source", "title", "id"].lazy.compactMap { object[$0] as? String }.first ?? "passage \(index + 1)"
            passages.append(ExtractiveAnswerer.Passage(source: source, text: text))
        }
        return passages
    }
}
