import Foundation
import NIOHTTP1
import Testing

@testable import NakshaProviders

/// What a provider sends is not trusted: absurd `Retry-After` values and token counts are
/// clamped, never a crash.
@Suite struct HostileProviderAnswerTests {
    @Test(arguments: [
        ("retry-after-ms", "inf", 1000 as UInt64), ("retry-after-ms", "1e30", 3_600_000), ("retry-after-ms", "-5", 1000),
        ("Retry-After", "1e20", 3_600_000), ("Retry-After", "nan", 1000), ("Retry-After", "-1", 1000), ("Retry-After", "12", 12_000),
        ("Retry-After", "soon", 1000), ("retry-after-ms", "250", 250),
    ])
    func retryAfterIsClamped(header: String, value: String, expected: UInt64) {
        var headers = HTTPHeaders()
        headers.add(name: header, value: value)
        #expect(OpenAICompatibleClient.retryAfterMillis(headers) == expected)
    }

    @Test func retryAfterAsAnHTTPDate() {
        var headers = HTTPHeaders()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        // A date in the past means "now": 0; far in the future: clamped to an hour.
        headers.add(name: "Retry-After", value: "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(OpenAICompatibleClient.retryAfterMillis(headers, now: now) == 0)
        headers.replaceOrAdd(name: "Retry-After", value: "Fri, 15 Jan 2027 08:00:05 GMT")
        #expect(OpenAICompatibleClient.retryAfterMillis(headers, now: now) == 5000)
        headers.replaceOrAdd(name: "Retry-After", value: "Fri, 01 Jan 2100 00:00:00 GMT")
        #expect(OpenAICompatibleClient.retryAfterMillis(headers, now: now) == 3_600_000)
    }

    @Test func absurdTokenCountsAreIgnoredAndCostsDoNotOverflow() {
        #expect(OpenAICompatibleClient.tokenCount(NSNumber(value: 1e17)) == nil)
        #expect(OpenAICompatibleClient.tokenCount(NSNumber(value: -3)) == nil)
        #expect(OpenAICompatibleClient.tokenCount(NSNumber(value: 42)) == 42)
        #expect(OpenAICompatibleClient.tokenCount("12") == nil)
        #expect(ModelPricing.costMicroUSD(model: "gpt-4o", promptTokens: Int.max, completionTokens: Int.max) > 0)
        #expect(ModelPricing.costMicroUSD(model: "gpt-4o-mini", promptTokens: 1_000_000, completionTokens: 1_000_000) == 750_000)
        #expect(ModelPricing.costMicroUSD(model: "unknown-model", promptTokens: 10, completionTokens: 10) == 0)
    }

    @Test func oddTextNeverCrashesTheOfflineProviders() throws {
        let embedder = try HashingEmbedder(dimension: 64)
        for text in ["e\u{301}\u{301}\u{301}", "🧪🧪 test", String(repeating: "word ", count: 20_000), "\r\n\r\nCRLF lines\r\nhere", "日本語のテキスト"] {
            let vector = try embedder.embed(text)
            #expect(vector.count == 64)
            #expect(vector.allSatisfy { $0.isFinite })
        }
        let answer = ExtractiveAnswerer().answer(
            question: "What do CRLF lines hold?", passages: [.init(source: "w.txt", text: "Line one of the file.\r\nCRLF lines hold the whole text of the answer here.\r\n")])
        #expect(answer.found)
        #expect(answer.text.contains("CRLF lines hold the whole text"))
    }
}
