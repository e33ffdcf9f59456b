/// A source document (`naksha_documents`) and, nested, its chunks (`naksha_chunks`).
///
/// Invariants: `metadataJSON` is a JSON object text (validated by Postgres as `jsonb`; key
/// order and whitespace are normalised by `jsonb`, so compare parsed values, not text).
/// Putting a document replaces its content and all its chunks atomically.
public struct StoredDocument: Sendable, Equatable {
    /// A contiguous piece of a document, in document order.
    public struct Chunk: Sendable, Equatable {
        public var ordinal: Int
        public var content: String
        /// Offsets into the document content, in Unicode scalars, `startOffset <= endOffset`.
        public var startOffset: Int
        public var endOffset: Int

        public init(ordinal: Int, content: String, startOffset: Int, endOffset: Int) {
            self.ordinal = ordinal
            self.content = content
            self.startOffset = startOffset
            self.endOffset = endOffset
        }
    }

    public var id: String
    public var source: String
    public var content: String
    public var metadataJSON: String

    public init(id: String, source: String, content: String, metadataJSON: String = "{}") {
        self.id = id
        self.source = source
        self.content = content
        self.metadataJSON = metadataJSON
    }
}
