import NakshaClusterAPI
import NakshaGraph
import Testing

@Suite struct VectorFilterTests {
    static func read(_ json: String) throws -> FilterExpression { try VectorFilter.parse(json: json) }

    @Test func theJSONFormReadsAsFilterExpressions() throws {
        #expect(try Self.read(#"{"lang": "en"}"#) == .equals("lang", .string("en")))
        #expect(try Self.read(#"{"year": {"gte": 2020, "lte": 2024}}"#) == .range("year", min: .int(2020), max: .int(2024)))
        #expect(try Self.read(#"{"tag": {"in": ["a", "b"]}}"#) == .isIn("tag", [.string("a"), .string("b")]))
        #expect(try Self.read(#"{"tag": {"ne": "a"}}"#) == .not(.equals("tag", .string("a"))))
        #expect(try Self.read(#"{"lang": "en", "public": true}"#) == .and([.equals("lang", .string("en")), .equals("public", .bool(true))]))
        #expect(
            try Self.read(#"{"$or": [{"lang": "en"}, {"$not": {"year": {"lte": 1999}}}]}"#)
                == .or([.equals("lang", .string("en")), .not(.range("year", min: nil, max: .int(1999)))]))
    }

    @Test(arguments: [
        #"["lang"]"#, #"{"lang": ["en"]}"#, #"{"year": {"gt": 3}}"#, #"{"$xor": []}"#, #"{"tag": {"in": "a"}}"#, "not json", #"{"lang": null}"#,
    ])
    func aBadFilterIsRefusedWithItsCode(_ json: String) {
        do {
            _ = try VectorFilter.parse(json: json)
            Issue.record("\(json) was accepted")
        } catch {
            #expect(error.code == ClusterAPIError.invalidFilter)
            #expect(!error.message.isEmpty)
        }
    }

    @Test func payloadsRoundTripAndOlderPayloadsReadAsMetadata() throws {
        let payload = VectorPayload(metadata: .map(["lang": .string("en")]), document: .map(["text": .string("hello"), "source": .string("a.md")]))
        #expect(VectorPayload(storedJSON: payload.jsonText) == payload)
        #expect(VectorPayload().jsonText == nil)
        #expect(VectorPayload(storedJSON: #"{"title": "x"}"#) == VectorPayload(metadata: .map(["title": .string("x")])))
        #expect(VectorPayload(storedJSON: "{not json") == VectorPayload())
        #expect(VectorFilter.indexedValues(of: .map(["n": .int(3), "tags": .list([.string("a")])])) == ["n": .int(3)])
    }
}
