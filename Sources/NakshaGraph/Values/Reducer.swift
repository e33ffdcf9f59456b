/// How a node's write to a state key is combined with the key's current value.
///
/// Invariants: `add` and `merge` of disjoint keys are commutative; `append` is ordered,
/// which is why the planner applies the writes of one step in task order (node name, then
/// fan-out index), never in completion order. Every reducer treats a current `null` as the
/// empty value of its kind.
public enum Reducer: String, Sendable, Hashable, Codable, CaseIterable {
    /// The write replaces the value. Two tasks of one step writing the same replace-key
    /// are a conflict.
    case replace
    /// The written list's elements (or a single non-list value) are appended to the list.
    case append
    /// The written map's entries are merged into the map (written keys win); writing null
    /// leaves the map as it is.
    case merge
    /// The written number is added to the number (int + int stays int; otherwise float).
    case add

    /// The types a key with this reducer may be declared with.
    func allows(_ type: ValueType) -> Bool {
        switch self {
        case .replace: return true
        case .append: return type == .list || type == .any
        case .merge: return type == .map || type == .any
        case .add: return type == .int || type == .float || type == .any
        }
    }

    /// Combines `current` and `update`. Total: a kind mismatch or an int overflow returns a
    /// failure message instead of trapping.
    func apply(current: GraphValue, update: GraphValue) -> Result<GraphValue, ReducerFailure> {
        switch self {
        case .replace:
            return .success(update)
        case .append:
            return appending(current: current, update: update)
        case .merge:
            return merging(current: current, update: update)
        case .add:
            return adding(current: current, update: update)
        }
    }

    private func appending(current: GraphValue, update: GraphValue) -> Result<GraphValue, ReducerFailure> {
        let existing: [GraphValue]
        switch current {
        case .null: existing = []
        case .list(let items): existing = items
        case .bool, .int, .double, .string, .map:
            return .failure(ReducerFailure(message: "append needs a list but the key holds \(current.kindName)"))
        }
        if case .list(let items) = update { return .success(.list(existing + items)) }
        return .success(.list(existing + [update]))
    }

    private func merging(current: GraphValue, update: GraphValue) -> Result<GraphValue, ReducerFailure> {
        var existing: [String: GraphValue]
        switch current {
        case .null: existing = [:]
        case .map(let entries): existing = entries
        case .bool, .int, .double, .string, .list:
            return .failure(ReducerFailure(message: "merge needs a map but the key holds \(current.kindName)"))
        }
        if update.isNull { return .success(.map(existing)) }
        guard case .map(let entries) = update else {
            return .failure(ReducerFailure(message: "merge needs a map to write but got \(update.kindName)"))
        }
        for (key, value) in entries { existing[key] = value }
        return .success(.map(existing))
    }

    private func adding(current: GraphValue, update: GraphValue) -> Result<GraphValue, ReducerFailure> {
        let base: GraphValue = current.isNull ? .int(0) : current
        if case .int(let left) = base, case .int(let right) = update {
            let (sum, overflow) = left.addingReportingOverflow(right)
            if overflow { return .failure(ReducerFailure(message: "add overflowed the int range")) }
            return .success(.int(sum))
        }
        guard let left = base.numberValue, let right = update.numberValue else {
            return .failure(
                ReducerFailure(message: "add needs numbers but got \(base.kindName) and \(update.kindName)"))
        }
        return .success(.double(left + right))
    }
}

/// Why a reducer could not combine two values (a message for `PlannerFailure`).
struct ReducerFailure: Error, Equatable, Sendable {
    var message: String
}
