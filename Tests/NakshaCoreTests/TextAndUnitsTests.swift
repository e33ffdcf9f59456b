import NakshaCore
import Testing

@Suite struct TextAndUnitsTests {
    @Test func durationsConvertToWholeUnitsTruncatingTowardZero() {
        let duration = Duration.seconds(2) + .nanoseconds(3_999_999)
        #expect(duration.inNanoseconds == 2_003_999_999)
        #expect(duration.inMilliseconds == 2_003)
        #expect(duration.inSeconds == 2.003999999)
        #expect(Duration.milliseconds(-1500).inMilliseconds == -1500)
        #expect(Duration.zero.inNanoseconds == 0)
    }

    @Test func jsonStringsEscapeQuotesBackslashesAndControlCharacters() {
        #expect(JSONText.quoted("plain ü") == "\"plain ü\"")
        #expect(JSONText.quoted("a\"b\\c") == #""a\"b\\c""#)
        #expect(JSONText.quoted("\n\r\t\u{01}") == #""\n\r\t\u0001""#)
        var output = "["
        JSONText.appendQuoted("x", to: &output)
        #expect(output == "[\"x\"")
    }
}
