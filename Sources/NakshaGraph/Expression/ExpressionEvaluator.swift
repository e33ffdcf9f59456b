/// Tree-walking evaluator with a step budget.
///
/// Semantics (documented in docs/graphs.md): a missing map key, a path through `null` and an
/// out-of-range index give `null`; a path into a non-container is a type error; `and`/`or`
/// short-circuit and need bools; `<` and friends compare two numbers or two strings;
/// `==` compares structurally with ints and floats equal by value.
struct ExpressionEvaluator {
    let state: [String: GraphValue]
    let item: GraphValue?
    private var steps = 0

    init(state: [String: GraphValue], item: GraphValue?) {
        self.state = state
        self.item = item
    }

    private mutating func charge(_ cost: Int, offset: Int?) throws(ExpressionError) {
        steps += cost
        guard steps <= Expression.maxEvaluationSteps else {
            throw ExpressionError(
                code: .stepLimit, offset: offset,
                message: "evaluation exceeded \(Expression.maxEvaluationSteps) steps")
        }
    }

    mutating func evaluate(_ node: ExpressionNode) throws(ExpressionError) -> GraphValue {
        try charge(1, offset: nil)
        switch node {
        case .literal(let value):
            return value
        case .path(let root, let components, let offset):
            return try resolve(root, components, offset: offset)
        case .list(let elements):
            var values: [GraphValue] = []
            for element in elements { values.append(try evaluate(element)) }
            return .list(values)
        case .not(let inner, let offset):
            return .bool(!(try boolean(inner, operator: "not", offset: offset)))
        case .and(let left, let right, let offset):
            guard try boolean(left, operator: "and", offset: offset) else { return .bool(false) }
            return .bool(try boolean(right, operator: "and", offset: offset))
        case .or(let left, let right, let offset):
            if try boolean(left, operator: "or", offset: offset) { return .bool(true) }
            return .bool(try boolean(right, operator: "or", offset: offset))
        case .compare(let comparison, let left, let right, let offset):
            return .bool(try compare(comparison, try evaluate(left), try evaluate(right), offset: offset))
        case .membership(let negated, let element, let container, let offset):
            let found = try contains(try evaluate(container), try evaluate(element), offset: offset)
            return .bool(negated ? !found : found)
        case .length(let inner, let offset):
            return try length(of: try evaluate(inner), offset: offset)
        }
    }

    private mutating func boolean(_ node: ExpressionNode, operator name: String, offset: Int) throws(ExpressionError) -> Bool {
        let value = try evaluate(node)
        guard case .bool(let flag) = value else {
            throw ExpressionError(
                code: .typeMismatch, offset: offset, message: "\"\(name)\" needs true or false but got \(value.kindName)")
        }
        return flag
    }

    private func resolve(
        _ root: ExpressionNode.Root, _ components: [ExpressionNode.PathComponent], offset: Int
    ) throws(ExpressionError) -> GraphValue {
        var current: GraphValue
        switch root {
        case .state:
            current = .map(state)
        case .item:
            guard let item else {
                throw ExpressionError(code: .noItem, offset: offset, message: "\"item\" is only set in fan-out tasks")
            }
            current = item
        }
        for component in components {
            current = try step(current, component, offset: offset)
        }
        return current
    }

    private func step(
        _ value: GraphValue, _ component: ExpressionNode.PathComponent, offset: Int
    ) throws(ExpressionError) -> GraphValue {
        switch (value, component) {
        case (.null, _):
            return .null
        case (.map(let entries), .key(let key)):
            return entries[key] ?? .null
        case (.list(let items), .index(let position)):
            let resolved = position < 0 ? items.count + position : position
            return items.indices.contains(resolved) ? items[resolved] : .null
        case (.map, .index(let position)):
            throw ExpressionError(
                code: .typeMismatch, offset: offset, message: "cannot index a map with [\(position)]; use .name")
        case (.bool, _), (.int, _), (.double, _), (.string, _), (.list, .key):
            throw ExpressionError(
                code: .typeMismatch, offset: offset,
                message: "cannot read \(Self.describe(component)) of a \(value.kindName)")
        }
    }

    private static func describe(_ component: ExpressionNode.PathComponent) -> String {
        switch component {
        case .key(let key): return "field \"\(key)\""
        case .index(let position): return "index [\(position)]"
        }
    }

    private func compare(
        _ comparison: ExpressionNode.Comparison, _ left: GraphValue, _ right: GraphValue, offset: Int
    ) throws(ExpressionError) -> Bool {
        switch comparison {
        case .equal: return left.semanticallyEquals(right)
        case .notEqual: return !left.semanticallyEquals(right)
        case .less, .lessOrEqual, .greater, .greaterOrEqual: break
        }
        let order: Int
        if case .int(let a) = left, case .int(let b) = right {
            order = a < b ? -1 : (a == b ? 0 : 1)
        } else if let a = left.numberValue, let b = right.numberValue, !a.isNaN, !b.isNaN {
            order = a < b ? -1 : (a == b ? 0 : 1)
        } else if case .string(let a) = left, case .string(let b) = right {
            let (x, y) = (Array(a.unicodeScalars), Array(b.unicodeScalars))
            order = x.lexicographicallyPrecedes(y) ? -1 : (x == y ? 0 : 1)
        } else {
            throw ExpressionError(
                code: .typeMismatch, offset: offset,
                message: "\"\(comparison.rawValue)\" compares two numbers or two strings, not \(left.kindName) and \(right.kindName)")
        }
        switch comparison {
        case .less: return order < 0
        case .lessOrEqual: return order <= 0
        case .greater: return order > 0
        case .greaterOrEqual: return order >= 0
        case .equal, .notEqual: return false
        }
    }

    private mutating func contains(_ container: GraphValue, _ element: GraphValue, offset: Int) throws(ExpressionError) -> Bool {
        switch container {
        case .list(let items):
            try charge(items.count, offset: offset)
            return items.contains { $0.semanticallyEquals(element) }
        case .map(let entries):
            guard case .string(let key) = element else {
                throw ExpressionError(
                    code: .typeMismatch, offset: offset, message: "map keys are strings; got \(element.kindName) before \"in\"")
            }
            return entries[key] != nil
        case .string(let text):
            guard case .string(let part) = element else {
                throw ExpressionError(
                    code: .typeMismatch, offset: offset,
                    message: "\"in\" a string needs a string on the left; got \(element.kindName)")
            }
            try charge(text.unicodeScalars.count, offset: offset)
            return part.isEmpty || text.contains(part)
        case .null, .bool, .int, .double:
            throw ExpressionError(
                code: .typeMismatch, offset: offset,
                message: "\"in\" needs a list, map or string on the right; got \(container.kindName)")
        }
    }

    private func length(of value: GraphValue, offset: Int) throws(ExpressionError) -> GraphValue {
        switch value {
        case .list(let items): return .int(items.count)
        case .map(let entries): return .int(entries.count)
        case .string(let text): return .int(text.count)
        case .null: return .int(0)
        case .bool, .int, .double:
            throw ExpressionError(
                code: .typeMismatch, offset: offset, message: "len() needs a list, map or string; got \(value.kindName)")
        }
    }
}
