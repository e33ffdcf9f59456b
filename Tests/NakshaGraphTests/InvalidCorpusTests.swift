import Foundation
import Testing

@testable import NakshaGraph

/// Every file in Corpus/invalid names its expected error code on its first line
/// (`# expect: <code>`) and marks the offending line with `# <--`.
@Suite struct InvalidCorpusTests {
    struct Expectation {
        let code: String
        let line: Int
    }

    static func expectation(of text: String) -> Expectation? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let header = lines.first, header.hasPrefix("# expect: ") else { return nil }
        guard let marked = lines.firstIndex(where: { $0.hasSuffix("# <--") }) else { return nil }
        return Expectation(code: String(header.dropFirst("# expect: ".count)), line: marked + 1)
    }

    @Test func corpusIsPresentAndCoversEveryErrorCode() throws {
        let files = corpusFiles("invalid")
        #expect(files.count >= 30)
        var covered: Set<String> = []
        for file in files {
            if let expectation = Self.expectation(of: try corpusFile("invalid", file)) { covered.insert(expectation.code) }
        }
        let uncovered = Set(GraphError.Code.all.map(\.description)).subtracting(covered).subtracting(["unknown_subgraph"])
        #expect(uncovered.isEmpty, "codes without a corpus file: \(uncovered.sorted())")
    }

    @Test(arguments: corpusFiles("invalid"))
    func invalidGraphReportsItsErrorAtItsLine(file: String) throws {
        let text = try corpusFile("invalid", file)
        let expectation = try #require(Self.expectation(of: text), "\(file) lacks its # expect: header or # <-- marker")
        let found = errors(of: text)
        #expect(
            found.contains { $0.code.description == expectation.code && $0.line == expectation.line },
            "\(file): expected \(expectation.code) at line \(expectation.line), got:\n\(found.map(\.renderedLine).joined(separator: "\n"))")
        #expect(throws: GraphError.self) { try GraphDefinition.load(yaml: text, fileName: file) }
    }
}
