import NakshaCore
import Testing

@testable import NakshaGraph

/// Mutated graph files must give errors with sane positions, never a crash. Seeds are
/// fixed, so a failure replays.
@Suite struct LoaderFuzzTests {
    static let files = corpusFiles("valid").map { ("valid", $0) } + corpusFiles("invalid").filter { !$0.hasPrefix("alias") }.prefix(12).map { ("invalid", $0) }

    static func mutate(_ text: String, random: inout SeededGenerator) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let alphabet = Array(" :-[]{}#'\"\n\tabcSTARTEND0123456789.,|>&*!@%")
        for _ in 0..<(1 + random.below(4)) {
            guard !lines.isEmpty else { break }
            let index = random.below(lines.count)
            switch random.below(5) {
            case 0: lines.remove(at: index)
            case 1: lines.insert(lines[index], at: index)
            case 2: lines.swapAt(index, random.below(lines.count))
            case 3:
                var scalars = Array(lines[index])
                let position = scalars.isEmpty ? 0 : random.below(scalars.count)
                scalars.insert(alphabet[random.below(alphabet.count)], at: position)
                lines[index] = String(scalars)
            default:
                var scalars = Array(lines[index])
                if !scalars.isEmpty { scalars.remove(at: random.below(scalars.count)) }
                lines[index] = String(scalars)
            }
        }
        return lines.joined(separator: "\n")
    }

    @Test(arguments: Array(0..<files.count))
    func mutatedFilesFailCleanly(fileIndex: Int) throws {
        let (folder, name) = Self.files[fileIndex]
        let original = try corpusFile(folder, name)
        var random = SeededGenerator(seed: UInt64(fileIndex) &* 7919)
        for _ in 0..<150 {
            let text = Self.mutate(original, random: &random)
            let lineCount = text.split(separator: "\n", omittingEmptySubsequences: false).count
            switch GraphDefinition.check(yaml: text, fileName: name) {
            case .success(let graph):
                let planner = GraphPlanner(graph: graph)
                _ = try? planner.start(input: [:])
            case .failure(let report):
                for error in report.errors {
                    #expect(error.line >= 1 && error.line <= lineCount + 1, "\(name): \(error)")
                    #expect(error.column >= 1, "\(name): \(error)")
                }
            }
        }
    }
}
