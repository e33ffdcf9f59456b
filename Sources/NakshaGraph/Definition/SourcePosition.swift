/// A 1-based line and column in the YAML text a definition was loaded from.
public struct SourcePosition: Sendable, Hashable, Codable, CustomStringConvertible {
    public let line: Int
    public let column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// The position of a value that has no place in a file (built in code).
    public static let unknown = SourcePosition(line: 0, column: 0)

    public var description: String { "\(line):\(column)" }
}
