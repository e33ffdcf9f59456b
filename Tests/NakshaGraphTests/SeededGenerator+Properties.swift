import NakshaCore

/// Helpers for property tests on top of NakshaCore's seeded generator (a failing seed
/// replays exactly).
extension SeededGenerator {
    /// A value in `0..<bound` (bound > 0).
    mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }

    /// True with probability `percent`/100.
    mutating func chance(_ percent: Int) -> Bool {
        below(100) < percent
    }
}
