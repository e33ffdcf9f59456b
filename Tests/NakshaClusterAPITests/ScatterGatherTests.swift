import NakshaClusterAPI
import NakshaCore
import Testing

/// The router's merge: equal to asking every shard for `k`, whatever the per-shard bound.
@Suite struct ScatterGatherTests {
    @Test func smallKAsksEveryShardForKAndLargeKAsksForThePoissonBound() {
        #expect(ScatterGather.perShardK(k: 10, shards: 1) == 10)
        #expect(ScatterGather.perShardK(k: 10, shards: 4) == 10, "λ = 2.5: the 10⁻⁶ tail is past 10")
        let bound = ScatterGather.perShardK(k: 1000, shards: 8)
        #expect(bound > 125 && bound < 200, "λ = 125: the bound is a few standard deviations above it, got \(bound)")
        #expect(ScatterGather.perShardK(k: 1, shards: 8) == 1)
        #expect(ScatterGather.perShardK(k: 0, shards: 8) == 0)
    }

    @Test func mergeOrdersByScoreThenIDAndKeepsOneHitPerID() {
        let merged = ScatterGather.merge(
            [
                [ShardHit(id: "b", score: 0.9), ShardHit(id: "d", score: 0.1)],
                [ShardHit(id: "a", score: 0.9), ShardHit(id: "c", score: 0.5)],
                [ShardHit(id: "c", score: 0.4)],
            ], k: 3)
        #expect(merged.map(\.id) == ["a", "b", "c"])
        #expect(merged[2].score == 0.5, "the better score of a duplicated id wins")
    }

    /// Random shards: the two-round protocol (ask the bound, then ask again the shards that
    /// may hold more) gives exactly the merge of every shard's full top `k`.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8])
    func askingTheBoundThenAgainEqualsAskingEveryShardForK(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        for _ in 0..<50 {
            let shards = Int.random(in: 2...8, using: &random)
            let k = Int.random(in: 1...400, using: &random)
            // Skewed shards, so some hold far more of the top k than their share.
            let lists: [[ShardHit]] = (0..<shards).map { shard in
                let count = Int.random(in: 0...600, using: &random)
                let boost = shard == 0 ? 0.5 : 0.0
                return (0..<count).map { ShardHit(id: "s\(shard)-\($0)", score: Double.random(in: 0...1, using: &random) + boost) }
                    .sorted(by: ScatterGather.precedes)
            }
            let reference = ScatterGather.merge(lists.map { Array($0.prefix(k)) }, k: k)
            let asked = ScatterGather.perShardK(k: k, shards: shards)
            var answers: [[ShardHit]?] = lists.map { Array($0.prefix(asked)) }
            for shard in ScatterGather.shardsToAskAgain(answers, asked: asked, k: k) { answers[shard] = Array(lists[shard].prefix(k)) }
            #expect(ScatterGather.merge(answers.compactMap { $0 }, k: k) == reference, "shards \(shards), k \(k), asked \(asked)")
        }
    }

    @Test func hedgeDelayIsFourTypicalAnswersWithinItsFloorAndHalfTheRemainingTime() {
        let remaining = Duration.seconds(5)
        #expect(ScatterGather.hedgeDelay(typicalSeconds: nil, remaining: remaining) == ScatterGather.minimumHedgeDelay)
        #expect(ScatterGather.hedgeDelay(typicalSeconds: 0.002, remaining: remaining) == ScatterGather.minimumHedgeDelay, "a fast shard: the floor")
        #expect(ScatterGather.hedgeDelay(typicalSeconds: 0.1, remaining: remaining) == .milliseconds(400))
        #expect(ScatterGather.hedgeDelay(typicalSeconds: 2, remaining: remaining) == .milliseconds(2500), "never more than half of what remains")
        #expect(ScatterGather.hedgeDelay(typicalSeconds: nil, remaining: .milliseconds(300)) == .milliseconds(150))
        #expect(ScatterGather.hedgeDelay(typicalSeconds: -1, remaining: remaining) == ScatterGather.minimumHedgeDelay)
    }

    @Test func typicalAnswerTimeMovesAFifthTowardsEachNewAnswer() {
        #expect(ScatterGather.typicalSeconds(previous: nil, answered: 0.04) == 0.04)
        let next = ScatterGather.typicalSeconds(previous: 0.01, answered: 0.06)
        #expect(abs(next - 0.02) < 1e-12)
    }
}
