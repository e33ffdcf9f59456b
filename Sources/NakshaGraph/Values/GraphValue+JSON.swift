import NakshaCore
import Yams

extension GraphValue {
    /// Parses a job's input (or a resume input) written as JSON — or YAML, of which JSON is
    /// a subset. Foundation-free apart from the YAML parser; not for hot paths.
    ///
    /// Errors carry the line and column in `text`; `name` stands in for the graph name in
    /// their description (for example `"input"`).
    public init(parsingJSON text: String, name: String = "input") throws(GraphError) {
        var loader = GraphLoader(yaml: text, fileName: name, scanGraphName: false)
        guard let root = loader.compose(what: "the input is empty; write a JSON object such as {\"question\": \"...\"}") else {
            throw loader.errors.first
                ?? loader.makeError(.yamlSyntax, at: SourcePosition(line: 1, column: 1), "the input is not JSON")
        }
        self = loader.value(of: root)
    }

    /// Compact JSON with map keys sorted: the same value always gives the same text.
    /// Non-finite floats (which JSON cannot carry) are written as `null`.
    public var jsonText: String {
        var output = ""
        appendJSON(to: &output)
        return output
    }

    private func appendJSON(to output: inout String) {
        switch self {
        case .null: output += "null"
        case .bool(let flag): output += flag ? "true" : "false"
        case .int(let number): output += String(number)
        case .double(let number): output += number.isFinite ? String(number) : "null"
        case .string(let text): JSONText.appendQuoted(text, to: &output)
        case .list(let items):
            output += "["
            for (index, item) in items.enumerated() {
                if index > 0 { output += "," }
                item.appendJSON(to: &output)
            }
            output += "]"
        case .map(let entries):
            output += "{"
            for (index, key) in entries.keys.sorted().enumerated() {
                if index > 0 { output += "," }
                JSONText.appendQuoted(key, to: &output)
                output += ":"
                (entries[key] ?? .null).appendJSON(to: &output)
            }
            output += "}"
        }
    }
}
