import NakshaCore
import Testing

@Suite struct SizeBoundedGroupsTests {
    @Test func groupsKeepOrderAndRespectBothBounds() {
        var generator = SeededGenerator(seed: 5)
        for _ in 0..<200 {
            let sizes = (0..<Int(generator.next() % 40)).map { _ in Int(generator.next() % 50) }
            let maxCount = Int(1 + generator.next() % 6)
            let groups = sizes.sizeBoundedGroups(maxCount: maxCount, maxBytes: 60) { $0 }
            #expect(Array(groups.joined()) == sizes, "concatenated groups give the array back")
            for group in groups {
                #expect(!group.isEmpty && group.count <= maxCount)
                #expect(group.count == 1 || group.reduce(0, +) <= 60, "\(group)")
            }
        }
    }

    @Test func anOversizedElementGoesAlone() {
        #expect([10, 100, 10].sizeBoundedGroups(maxBytes: 50) { $0 } == [[10], [100], [10]])
        #expect([Int]().sizeBoundedGroups(maxBytes: 1) { $0 }.isEmpty)
        #expect([1, 2, 3, 4, 5].sizeBoundedGroups(maxCount: 2, maxBytes: 100) { $0 } == [[1, 2], [3, 4], [5]])
    }
}
