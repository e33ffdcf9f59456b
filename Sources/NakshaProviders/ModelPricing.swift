/// Published list prices of OpenAI models, in millionths of a dollar per million tokens, for
/// cost accounting. A model not listed costs 0 (its tokens are still counted).
public enum ModelPricing {
    static let perMillionTokens: [String: (input: Int, output: Int)] = [
        "text-embedding-3-small": (20_000, 0),
        "text-embedding-3-large": (130_000, 0),
        "text-embedding-ada-002": (100_000, 0),
        "gpt-4o-mini": (150_000, 600_000),
        "gpt-4o": (2_500_000, 10_000_000),
        "gpt-4.1-mini": (400_000, 1_600_000),
        "gpt-4.1": (2_000_000, 8_000_000),
    ]

    /// The cost of a call in millionths of a dollar, rounded up.
    public static func costMicroUSD(model: String, promptTokens: Int, completionTokens: Int) -> Int {
        guard let price = perMillionTokens[model] else { return 0 }
        // Token counts are clamped (a provider's answer is not trusted not to overflow).
        let prompt = min(max(promptTokens, 0), 1_000_000_000)
        let completion = min(max(completionTokens, 0), 1_000_000_000)
        let total = prompt * price.input + completion * price.output
        return (total + 999_999) / 1_000_000
    }
}
