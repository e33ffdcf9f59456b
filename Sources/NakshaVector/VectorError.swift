/// Every way a caller's input can be wrong for a vector index.
///
/// A `VectorError` is a value: a stable `code` that callers switch on or count in metrics,
/// plus a human-readable `message` that says what was wrong and what to do. Index methods
/// throw it; they never trap on input a user or peer can cause.
public struct VectorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable identifier for the kind of failure (postgres-nio's `PSQLError.Code` pattern).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Base: String, Sendable, Hashable {
            case dimensionMismatch
            case invalidDimension
            case invalidParameter
            case duplicateID
            case unknownID
            case nonFiniteValue
            case batchShapeMismatch
            case invalidSnapshot
        }

        let base: Base

        /// A vector or query has a different number of components than the index.
        public static let dimensionMismatch = Code(base: .dimensionMismatch)
        /// The dimension asked for at creation is not positive.
        public static let invalidDimension = Code(base: .invalidDimension)
        /// A parameter (k, M, efSearch, rescore factor, …) is out of its allowed range.
        public static let invalidParameter = Code(base: .invalidParameter)
        /// `add` was called with an id that is already present (use `upsert` to replace).
        public static let duplicateID = Code(base: .duplicateID)
        /// The id names no vector in the index.
        public static let unknownID = Code(base: .unknownID)
        /// A vector contains NaN or an infinity, which no metric can rank.
        public static let nonFiniteValue = Code(base: .nonFiniteValue)
        /// A flat batch buffer is not a whole number of vectors of the index's dimension.
        public static let batchShapeMismatch = Code(base: .batchShapeMismatch)
        /// Saved index bytes are truncated, of an unknown format, or describe an impossible
        /// graph (a link past the last node, a count over its limit); nothing was loaded.
        public static let invalidSnapshot = Code(base: .invalidSnapshot)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What was wrong and what to do, for a person; never contains vector payloads.
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "VectorError(\(code)): \(message)" }

    static func dimensionMismatch(expected: Int, got: Int) -> VectorError {
        VectorError(
            code: .dimensionMismatch,
            message: "vector has \(got) components but the index dimension is \(expected); "
                + "re-embed with the collection's model or create a collection of dimension \(got)"
        )
    }

    static func invalidParameter(_ name: String, _ value: Int, _ allowed: String) -> VectorError {
        VectorError(code: .invalidParameter, message: "\(name) = \(value) is invalid: it must be \(allowed)")
    }
}
