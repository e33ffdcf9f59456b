import Testing

@testable import NakshaGraph

@Suite struct GraphValueJSONTests {
    @Test func jsonInputParsesIntoTypedValues() throws {
        let value = try GraphValue(parsingJSON: #"{"q": "what?", "n": 3, "x": 0.5, "ok": true, "none": null, "l": [1, "2"], "quoted": "3"}"#)
        #expect(value == ["q": "what?", "n": 3, "x": 0.5, "ok": true, "none": .null, "l": [1, "2"], "quoted": "3"])
    }

    @Test func invalidJSONGivesAPositionedError() {
        do {
            _ = try GraphValue(parsingJSON: "{\"a\": [1, 2}\n")
            Issue.record("parsed")
        } catch {
            #expect(error.code == .yamlSyntax)
            #expect(error.line == 1)
            #expect(error.graph == "input")
        }
    }

    @Test func jsonTextIsCompactSortedAndEscaped() {
        let value: GraphValue = ["b": [1, 2.5, .null], "a": "say \"hi\"\n\u{1}", "c": .double(.infinity)]
        #expect(value.jsonText == #"{"a":"say \"hi\"\n\u0001","b":[1,2.5,null],"c":null}"#)
    }

    @Test func jsonTextRoundTripsThroughTheParser() throws {
        let value: GraphValue = ["docs": [["id": "a", "score": 0.25]], "n": -4, "flag": false, "s": "x: y # z"]
        #expect(try GraphValue(parsingJSON: value.jsonText) == value)
    }
}
