import NakshaCore
import Testing

@Suite struct SeededGeneratorTests {
    @Test func sameSeedGivesSameSequence() {
        var first = SeededGenerator(seed: 99)
        var second = SeededGenerator(seed: 99)
        for _ in 0..<1000 { #expect(first.next() == second.next()) }
    }

    @Test func sequenceIsPinnedAcrossBuilds() {
        // SplitMix64's published first output for seed 0; a change here breaks every replay.
        var generator = SeededGenerator(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
    }

    @Test(arguments: [1, 2, 3, 7, 10, 1000, UInt64.max])
    func boundedValuesStayInRange(bound: UInt64) {
        var generator = SeededGenerator(seed: bound)
        for _ in 0..<2000 { #expect(generator.next(below: bound) < bound) }
    }

    @Test func boundedValuesCoverTheRange() {
        var generator = SeededGenerator(seed: 5)
        var seen = Set<UInt64>()
        for _ in 0..<1000 { seen.insert(generator.next(below: 10)) }
        #expect(seen == Set(0..<10))
    }

    @Test func forkedStreamsDiffer() {
        var parent = SeededGenerator(seed: 1)
        var child = parent.fork()
        #expect(child.next() != parent.next())
    }
}
