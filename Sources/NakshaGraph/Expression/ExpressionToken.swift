/// One lexical token of an expression, with its 0-based scalar offset.
struct ExpressionToken: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case name(String)
        case integer(Int)
        case float(Double)
        case string(String)
        case symbol(String)
        case end
    }

    let kind: Kind
    let offset: Int
}

/// Splits expression source into tokens.
///
/// Invariant: the lexer consumes every scalar or reports a `syntax` error; it never loops
/// without advancing.
struct ExpressionLexer {
    private let scalars: [Unicode.Scalar]
    private var position = 0

    init(_ source: String) {
        self.scalars = Array(source.unicodeScalars)
    }

    static func tokens(of source: String) throws(ExpressionError) -> [ExpressionToken] {
        var lexer = ExpressionLexer(source)
        var tokens: [ExpressionToken] = []
        while true {
            let token = try lexer.next()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    private mutating func next() throws(ExpressionError) -> ExpressionToken {
        while position < scalars.count, scalars[position].properties.isWhitespace { position += 1 }
        guard position < scalars.count else { return ExpressionToken(kind: .end, offset: position) }
        let start = position
        let scalar = scalars[position]
        if scalar == "\"" || scalar == "'" { return try string(quote: scalar) }
        if isDigit(scalar) || (scalar == "-" && position + 1 < scalars.count && isDigit(scalars[position + 1])) {
            return try number()
        }
        if isNameStart(scalar) {
            while position < scalars.count, isNameStart(scalars[position]) || isDigit(scalars[position]) {
                position += 1
            }
            return ExpressionToken(kind: .name(text(from: start)), offset: start)
        }
        for symbol in ["==", "!=", "<=", ">=", "<", ">", "(", ")", "[", "]", ".", ","] where matches(symbol) {
            position += symbol.unicodeScalars.count
            return ExpressionToken(kind: .symbol(symbol), offset: start)
        }
        throw ExpressionError(code: .syntax, offset: start, message: "unexpected character \"\(scalar)\"")
    }

    private mutating func string(quote: Unicode.Scalar) throws(ExpressionError) -> ExpressionToken {
        let start = position
        position += 1
        var value = String.UnicodeScalarView()
        while position < scalars.count {
            let scalar = scalars[position]
            position += 1
            if scalar == quote { return ExpressionToken(kind: .string(String(value)), offset: start) }
            guard scalar == "\\" else {
                value.append(scalar)
                continue
            }
            guard position < scalars.count else { break }
            let escaped = scalars[position]
            position += 1
            switch escaped {
            case "n": value.append("\n")
            case "t": value.append("\t")
            case "\\", "\"", "'": value.append(escaped)
            default:
                throw ExpressionError(
                    code: .syntax, offset: position - 2, message: "unknown escape \"\\\(escaped)\" in string")
            }
        }
        throw ExpressionError(code: .syntax, offset: start, message: "unterminated string")
    }

    private mutating func number() throws(ExpressionError) -> ExpressionToken {
        let start = position
        if scalars[position] == "-" { position += 1 }
        var isFloat = false
        while position < scalars.count {
            let scalar = scalars[position]
            if isDigit(scalar) {
                position += 1
            } else if scalar == ".", !isFloat, position + 1 < scalars.count, isDigit(scalars[position + 1]) {
                isFloat = true
                position += 1
            } else {
                break
            }
        }
        let literal = text(from: start)
        if isFloat, let value = Double(literal) { return ExpressionToken(kind: .float(value), offset: start) }
        if !isFloat, let value = Int(literal) { return ExpressionToken(kind: .integer(value), offset: start) }
        throw ExpressionError(code: .syntax, offset: start, message: "number \(literal) is out of range")
    }

    private func matches(_ symbol: String) -> Bool {
        let symbolScalars = Array(symbol.unicodeScalars)
        guard position + symbolScalars.count <= scalars.count else { return false }
        return Array(scalars[position..<(position + symbolScalars.count)]) == symbolScalars
    }

    private func text(from start: Int) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[start..<position])
        return String(view)
    }

    private func isDigit(_ scalar: Unicode.Scalar) -> Bool { scalar >= "0" && scalar <= "9" }

    private func isNameStart(_ scalar: Unicode.Scalar) -> Bool {
        (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || scalar == "_"
    }
}
