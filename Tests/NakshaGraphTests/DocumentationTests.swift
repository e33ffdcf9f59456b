import Foundation
import Testing

@testable import NakshaGraph

/// docs/graphs.md must not drift from the code: every complete graph in it is valid, and
/// every error code is documented.
@Suite struct DocumentationTests {
    static func documentation() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("docs/graphs.md"), encoding: .utf8)
    }

    /// The ```yaml blocks of the document.
    static func yamlBlocks(_ text: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```yaml" {
                current = []
            } else if current != nil, line == "```" {
                blocks.append((current ?? []).joined(separator: "\n"))
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    @Test func completeGraphsInTheDocumentationAreValid() throws {
        let graphs = Self.yamlBlocks(try Self.documentation()).filter { $0.hasPrefix("name:") }
        #expect(!graphs.isEmpty)
        for yaml in graphs {
            #expect(GraphDefinition.validationLines(yaml: yaml, fileName: "docs") == [], "\(yaml)")
        }
    }

    @Test func everyErrorAndFailureCodeIsDocumented() throws {
        let text = try Self.documentation()
        for code in GraphError.Code.all.map(\.description) + PlannerFailure.Code.all.map(\.description) {
            #expect(text.contains("| `\(code)` |"), "\(code) is not documented")
        }
    }

    @Test func everyNodeTypeIsDocumented() throws {
        let text = try Self.documentation()
        for kind in NodeKind.allCases {
            #expect(text.contains("| `\(kind.rawValue)` |"), "\(kind.rawValue) is not documented")
        }
    }
}
