import Testing

@testable import NakshaProviders

/// The offline embedder (`offline-hash-<dimension>`): its names, its vectors' shape, and that
/// texts sharing words land closer than unrelated ones.
@Suite struct HashingEmbedderTests {
    static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }  // both are unit vectors
    }

    @Test func offlineHash384NamesA384DimensionalEmbedder() throws {
        let embedder = try #require(try HashingEmbedder(model: "offline-hash-384"))
        #expect(embedder.dimension == 384)
        #expect(embedder.model == "offline-hash-384")
        #expect(try embedder.embed("worker leases").count == 384)
    }

    @Test func anOpenAIModelNameIsNotAnOfflineEmbedder() throws {
        #expect(try HashingEmbedder(model: "text-embedding-3-small") == nil)
    }

    @Test(arguments: ["offline-hash-", "offline-hash-abc", "offline-hash-384x", "offline-hash-4", "offline-hash-0", "offline-hash-100000"])
    func aBadOfflineHashNameThrowsUnknownModel(_ name: String) {
        do {
            _ = try HashingEmbedder(model: name)
            Issue.record("\(name) named an embedder")
        } catch {
            #expect(error.code == .unknownModel, "\(name): \(error)")
        }
    }

    @Test(arguments: ["worker task leases expire", "a", "x y z 1 2 3", "Ünïcödé wörds ärë fïnë", String(repeating: "long text ", count: 500)])
    func vectorsHaveUnitLength(_ text: String) throws {
        let vector = try HashingEmbedder(dimension: 384).embed(text)
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(abs(norm - 1) < 1e-5, "\(text.prefix(20)): norm \(norm)")
    }

    @Test func theSameTextGivesTheSameVector() throws {
        let embedder = try HashingEmbedder(dimension: 384)
        let text = "The coordinator grants each task to one worker under a lease."
        #expect(try embedder.embed(text) == embedder.embed(text))
        #expect(try HashingEmbedder(dimension: 384).embed(text) == embedder.embed(text))
    }

    /// FNV-1a 64 test vectors (Fowler/Noll/Vo reference): the hash every coordinate depends on.
    @Test func theFeatureHashIsFNV1a64() {
        #expect(TextFeatures.fnv1a("") == 0xcbf2_9ce4_8422_2325)
        #expect(TextFeatures.fnv1a("a") == 0xaf63_dc4c_8601_ec8c)
        #expect(TextFeatures.fnv1a("foobar") == 0x8594_4171_f739_67e8)
    }

    /// Golden: the first eight non-zero coordinates of a fixed text (index and sign). They pin
    /// the feature hash (FNV-1a 64, slot = hash mod dimension, sign = top bit) and the
    /// features (words, bigrams, trigrams): vectors already stored in a collection were made
    /// with them, so a change here is a deliberate re-embedding, never an accident.
    @Test func theFirstCoordinatesOfAFixedTextAreStable() throws {
        let vector = try HashingEmbedder(dimension: 384).embed("Workers renew their leases with heartbeats.")
        let firstNonZero = vector.enumerated().filter { $0.element != 0 }.prefix(8).map { ($0.offset, $0.element > 0 ? 1 : -1) }
        let expected: [(Int, Int)] = [(6, -1), (17, 1), (22, -1), (29, -1), (37, -1), (40, -1), (67, 1), (89, 1)]
        #expect(firstNonZero.map(\.0) == expected.map(\.0))
        #expect(firstNonZero.map(\.1) == expected.map(\.1))
    }

    @Test func textsSharingWordsAreCloserThanAnUnrelatedText() throws {
        let embedder = try HashingEmbedder(dimension: 384)
        let query = try embedder.embed("lease expiry of worker tasks")
        let related = try embedder.embed("worker task leases expire")
        let unrelated = try embedder.embed("chocolate cake recipe with butter")
        let near = Self.cosine(query, related)
        let far = Self.cosine(query, unrelated)
        #expect(near > 0.3, "related similarity \(near)")
        #expect(near > far + 0.25, "related \(near) vs unrelated \(far)")
    }

    @Test(arguments: ["", "   ", "!!! ... ???", "—·—", "\n\t"])
    func textWithNoLettersOrDigitsThrowsInvalidInput(_ text: String) throws {
        let embedder = try HashingEmbedder(dimension: 384)
        do {
            _ = try embedder.embed(text)
            Issue.record("embedded \(text.debugDescription)")
        } catch {
            #expect(error.code == .invalidInput)
            #expect(!error.isRetryable)
        }
    }
}
