/// Recursive-descent parser for the expression grammar documented on `Expression`.
///
/// Invariant: recursion depth is bounded by `Expression.maxDepth` (checked on every nested
/// operand), so hostile input cannot overflow the stack.
struct ExpressionParser {
    private let tokens: [ExpressionToken]
    private var index = 0
    private var depth = 0

    static func parse(_ source: String) throws(ExpressionError) -> ExpressionNode {
        guard source.unicodeScalars.count <= Expression.maxSourceLength else {
            throw ExpressionError(
                code: .tooLong, offset: nil,
                message: "expression is longer than \(Expression.maxSourceLength) characters")
        }
        var parser = ExpressionParser(tokens: try ExpressionLexer.tokens(of: source))
        let node = try parser.orExpression()
        let token = parser.peek
        guard token.kind == .end else {
            throw ExpressionError(code: .syntax, offset: token.offset, message: "unexpected \(describe(token))")
        }
        return node
    }

    private init(tokens: [ExpressionToken]) {
        self.tokens = tokens
    }

    private var peek: ExpressionToken { tokens[min(index, tokens.count - 1)] }

    private mutating func advance() -> ExpressionToken {
        let token = peek
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private func isName(_ name: String) -> Bool { peek.kind == .name(name) }
    private func isSymbol(_ symbol: String) -> Bool { peek.kind == .symbol(symbol) }

    private mutating func expect(symbol: String) throws(ExpressionError) {
        guard isSymbol(symbol) else {
            throw ExpressionError(
                code: .syntax, offset: peek.offset, message: "expected \"\(symbol)\" but found \(Self.describe(peek))")
        }
        _ = advance()
    }

    private mutating func orExpression() throws(ExpressionError) -> ExpressionNode {
        var node = try andExpression()
        while isName("or") {
            let offset = advance().offset
            node = .or(node, try andExpression(), offset: offset)
        }
        return node
    }

    private mutating func andExpression() throws(ExpressionError) -> ExpressionNode {
        var node = try notExpression()
        while isName("and") {
            let offset = advance().offset
            node = .and(node, try notExpression(), offset: offset)
        }
        return node
    }

    private mutating func notExpression() throws(ExpressionError) -> ExpressionNode {
        guard isName("not") else { return try comparison() }
        let offset = advance().offset
        try enter(at: offset)
        defer { depth -= 1 }
        return .not(try notExpression(), offset: offset)
    }

    private mutating func comparison() throws(ExpressionError) -> ExpressionNode {
        let left = try operand()
        let offset = peek.offset
        if case .symbol(let symbol) = peek.kind, let comparison = ExpressionNode.Comparison(rawValue: symbol) {
            _ = advance()
            return .compare(comparison, left, try operand(), offset: offset)
        }
        if isName("in") {
            _ = advance()
            return .membership(negated: false, element: left, container: try operand(), offset: offset)
        }
        if isName("not"), index + 1 < tokens.count, tokens[index + 1].kind == .name("in") {
            _ = advance()
            _ = advance()
            return .membership(negated: true, element: left, container: try operand(), offset: offset)
        }
        return left
    }

    private mutating func enter(at offset: Int) throws(ExpressionError) {
        depth += 1
        guard depth <= Expression.maxDepth else {
            throw ExpressionError(
                code: .tooDeep, offset: offset, message: "expression nests deeper than \(Expression.maxDepth) levels")
        }
    }

    private mutating func operand() throws(ExpressionError) -> ExpressionNode {
        let token = advance()
        try enter(at: token.offset)
        defer { depth -= 1 }
        switch token.kind {
        case .integer(let value): return .literal(.int(value))
        case .float(let value): return .literal(.double(value))
        case .string(let value): return .literal(.string(value))
        case .symbol("("):
            let inner = try orExpression()
            try expect(symbol: ")")
            return inner
        case .symbol("["):
            return .list(try listElements())
        case .name(let name):
            return try named(name, token: token)
        case .symbol, .end:
            throw ExpressionError(
                code: .syntax, offset: token.offset, message: "expected a value but found \(Self.describe(token))")
        }
    }

    private mutating func named(_ name: String, token: ExpressionToken) throws(ExpressionError) -> ExpressionNode {
        switch name {
        case "true": return .literal(.bool(true))
        case "false": return .literal(.bool(false))
        case "null": return .literal(.null)
        case "len":
            try expect(symbol: "(")
            let argument = try orExpression()
            try expect(symbol: ")")
            return .length(argument, offset: token.offset)
        case "state": return try path(.state, offset: token.offset)
        case "item": return try path(.item, offset: token.offset)
        default:
            let hint = Spelling.hint(for: name, among: ["state", "item", "len", "true", "false", "null"])
            throw ExpressionError(
                code: .unknownName, offset: token.offset,
                message: "unknown name \"\(name)\"\(hint); paths start with state. or item.")
        }
    }

    private mutating func listElements() throws(ExpressionError) -> [ExpressionNode] {
        var elements: [ExpressionNode] = []
        if isSymbol("]") {
            _ = advance()
            return elements
        }
        while true {
            elements.append(try orExpression())
            if isSymbol(",") {
                _ = advance()
                continue
            }
            try expect(symbol: "]")
            return elements
        }
    }

    private mutating func path(_ root: ExpressionNode.Root, offset: Int) throws(ExpressionError) -> ExpressionNode {
        var components: [ExpressionNode.PathComponent] = []
        while true {
            if isSymbol(".") {
                _ = advance()
                let token = advance()
                guard case .name(let key) = token.kind else {
                    throw ExpressionError(
                        code: .syntax, offset: token.offset,
                        message: "expected a field name after \".\" but found \(Self.describe(token))")
                }
                components.append(.key(key))
            } else if isSymbol("[") {
                _ = advance()
                let token = advance()
                switch token.kind {
                case .integer(let position): components.append(.index(position))
                case .string(let key): components.append(.key(key))
                case .name, .float, .symbol, .end:
                    throw ExpressionError(
                        code: .syntax, offset: token.offset,
                        message: "expected an integer index or a quoted key but found \(Self.describe(token))")
                }
                try expect(symbol: "]")
            } else {
                return .path(root, components, offset: offset)
            }
        }
    }

    static func describe(_ token: ExpressionToken) -> String {
        switch token.kind {
        case .name(let name): return "\"\(name)\""
        case .integer(let value): return "number \(value)"
        case .float(let value): return "number \(value)"
        case .string(let value): return "string \"\(value)\""
        case .symbol(let symbol): return "\"\(symbol)\""
        case .end: return "end of expression"
        }
    }
}
