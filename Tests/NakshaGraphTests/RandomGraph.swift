import NakshaCore
@testable import NakshaGraph

/// Random graphs for property tests, generated from a seed.
///
/// Nodes write `log` (append), `total` (add), `bag` (merge) and sometimes `last` (replace);
/// edges are static (forks included), conditional (possibly backwards, forming loops whose
/// exit depends on `total`), fan-out over `state.items`, and joins; some nodes interrupt.
/// The validator decides which generated graphs are valid.
enum RandomGraph {
    static func yaml(seed: UInt64) -> String {
        var random = SeededGenerator(seed: seed)
        let count = 2 + random.below(6)
        let names = (0..<count).map { "n\($0)" }
        var lines = [
            "name: random_\(seed)", "version: 1", "maxSteps: 40", "state:",
            "  items: { type: list, default: [] }", "  log: { type: list, reducer: append, default: [] }",
            "  total: { type: int, reducer: add, default: 0 }", "  bag: { type: map, reducer: merge, default: {} }",
            "  last: any", "nodes:",
        ]
        for name in names {
            var writes = ["log", "total", "bag"]
            if random.chance(20) { writes.append("last") }
            var line = "  \(name): { type: vector.upsert, params: { collection: c, vectors: state.items }, writes: [\(writes.joined(separator: ", "))]"
            if random.chance(10) { line += ", interrupt: \(random.chance(50) ? "before" : "after")" }
            lines.append(line + " }")
        }
        lines.append("edges:")
        lines.append("  - { from: START, to: n0 }")
        if count > 2, random.chance(40) { lines.append("  - { from: START, to: n\(1 + random.below(count - 1)) }") }
        for index in 0..<count {
            lines.append(contentsOf: edges(from: index, count: count, random: &random))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func forward(_ index: Int, _ count: Int, _ random: inout SeededGenerator) -> String {
        let next = random.chance(60) ? index + 1 : index + 1 + random.below(count - index)
        return next >= count ? "END" : "n\(next)"
    }

    private static func edges(from index: Int, count: Int, random: inout SeededGenerator) -> [String] {
        let name = "n\(index)"
        var lines: [String] = []
        switch random.below(5) {
        case 0:
            lines.append("  - { from: \(name), to: \(forward(index, count, &random)) }")
            lines.append("  - { from: \(name), to: \(forward(index, count, &random)) }")
        case 1:
            let back = "n\(random.below(index + 1))"
            lines.append("  - from: \(name)")
            lines.append("    branches:")
            lines.append("      - { when: \"state.total < \(random.below(40))\", to: \(back) }")
            lines.append("    default: \(forward(index, count, &random))")
        case 2 where index + 1 < count:
            lines.append("  - { from: \(name), to: n\(index + 1 + random.below(count - index - 1)), over: state.items }")
        case 3 where index + 2 < count:
            let other = "n\(index + 1 + random.below(count - index - 2))"
            lines.append("  - { from: \(name), to: \(other) }")
            lines.append("  - { from: [\(name), \(other)], to: \(forward(index + 1, count, &random)) }")
        default:
            lines.append("  - { from: \(name), to: \(forward(index, count, &random)) }")
        }
        return lines
    }

    /// The output a task produces: a pure function of its id and item.
    static func output(for task: GraphTask, writes: [String]) -> [String: GraphValue] {
        var output: [String: GraphValue] = [
            "log": [.string(task.id.description)],
            "total": .int(1 + (task.id.index ?? 0)),
            "bag": .map([task.id.description: task.item ?? .null]),
        ]
        if writes.contains("last") { output["last"] = .string(task.id.description) }
        return output
    }
}
