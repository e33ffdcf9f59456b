/// A text with `{{ expression }}` holes, as used by `llm.chat` prompts, `template` nodes
/// and `http` URLs.
///
/// Invariant: parsed once; rendering is pure and total (errors are `ExpressionError`s). A
/// hole renders its value's `renderedText` (strings verbatim, null as `null`, lists and maps
/// as compact JSON-like text with sorted keys).
public struct TextTemplate: Sendable, Hashable {
    enum Segment: Sendable, Hashable {
        case text(String)
        case hole(Expression, offset: Int)
    }

    public let source: String
    let segments: [Segment]

    /// Parses `source`; error offsets are positions in `source`.
    public init(parsing source: String) throws(ExpressionError) {
        self.source = source
        var segments: [Segment] = []
        var scalars = Substring(source).unicodeScalars[...]
        var offset = 0
        while let open = Self.find("{{", in: scalars) {
            let before = scalars[scalars.startIndex..<open]
            if !before.isEmpty { segments.append(.text(String(String.UnicodeScalarView(before)))) }
            let holeStart = scalars.index(open, offsetBy: 2)
            offset += before.count + 2
            let rest = scalars[holeStart...]
            guard let close = Self.find("}}", in: rest) else {
                throw ExpressionError(code: .syntax, offset: offset - 2, message: "\"{{\" without a closing \"}}\"")
            }
            let body = String(String.UnicodeScalarView(rest[rest.startIndex..<close]))
            let expression: Expression
            do {
                expression = try Expression(parsing: body)
            } catch {
                throw ExpressionError(code: error.code, offset: offset + (error.offset ?? 0), message: error.message)
            }
            segments.append(.hole(expression, offset: offset))
            offset += body.unicodeScalars.count + 2
            scalars = rest[rest.index(close, offsetBy: 2)...]
        }
        if !scalars.isEmpty { segments.append(.text(String(String.UnicodeScalarView(scalars)))) }
        self.segments = segments
    }

    /// The expressions in the holes, in order, with their offsets in `source`.
    var holes: [(expression: Expression, offset: Int)] {
        segments.compactMap { segment in
            if case .hole(let expression, let offset) = segment { return (expression, offset) }
            return nil
        }
    }

    /// Renders the template with `literal` applied to the template's own text only (never to
    /// the values of its holes): how a worker resolves `secret://NAME` references written in a
    /// graph without letting a job's input name a secret.
    public func render(state: [String: GraphValue], item: GraphValue? = nil, literal: (String) -> String) throws(ExpressionError) -> String {
        var output = ""
        for segment in segments {
            switch segment {
            case .text(let text): output += literal(text)
            case .hole(let expression, _): output += try expression.evaluate(state: state, item: item).renderedText
            }
        }
        return output
    }

    /// Renders the template against the state and the fan-out item.
    public func render(state: [String: GraphValue], item: GraphValue? = nil) throws(ExpressionError) -> String {
        var output = ""
        for segment in segments {
            switch segment {
            case .text(let text): output += text
            case .hole(let expression, _): output += try expression.evaluate(state: state, item: item).renderedText
            }
        }
        return output
    }

    private static func find(_ needle: String, in haystack: Substring.UnicodeScalarView) -> Substring.UnicodeScalarView.Index? {
        let pattern = Array(needle.unicodeScalars)
        var index = haystack.startIndex
        while index < haystack.endIndex {
            var probe = index
            var matched = 0
            while matched < pattern.count, probe < haystack.endIndex, haystack[probe] == pattern[matched] {
                probe = haystack.index(after: probe)
                matched += 1
            }
            if matched == pattern.count { return index }
            index = haystack.index(after: index)
        }
        return nil
    }
}
