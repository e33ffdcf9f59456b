/// A reference to a registered graph version, written `name@version` (`summarize@2`).
///
/// Invariant: `name` is non-empty and contains no `@`; `version` is at least 1.
public struct GraphReference: Sendable, Hashable, Codable, CustomStringConvertible {
    public let name: String
    public let version: Int

    public init(name: String, version: Int) {
        precondition(!name.isEmpty && !name.contains("@") && version >= 1, "invalid GraphReference")
        self.name = name
        self.version = version
    }

    /// Parses `name@version`; nil when the text is not of that form.
    public init?(parsing text: String) {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, let version = Int(parts[1]), version >= 1 else { return nil }
        self.init(name: String(parts[0]), version: version)
    }

    public var description: String { "\(name)@\(version)" }
}
