import RaftCore

/// Runs many seeds and summarises them.
public enum SimulationRunner {
    public struct Summary: Sendable, Equatable {
        public var seedsRun = 0
        public var failures: [SimulationResult] = []
        public var totalCommitted: UInt64 = 0
        public var totalTicks = 0
        public var diskFaults = 0
        public var persistFailures = 0
        public var recoveriesChecked = 0
        public var refusedStarts = 0

        public var line: String { "\(seedsRun) seeds, \(failures.count) violations" }
    }

    /// Runs `count` consecutive seeds from `firstSeed` with `template` for everything else.
    public static func explore(firstSeed: UInt64, count: Int, template: SimulationOptions) -> Summary {
        var summary = Summary()
        for offset in 0..<UInt64(max(count, 0)) {
            var options = template
            options.seed = firstSeed &+ offset
            let result = Simulation.run(options)
            summary.seedsRun += 1
            summary.totalCommitted += result.stats.highestCommitted
            summary.totalTicks += result.stats.ticks
            summary.diskFaults += result.stats.diskFaults
            summary.persistFailures += result.stats.persistFailures
            summary.recoveriesChecked += result.stats.recoveriesChecked
            summary.refusedStarts += result.stats.refusedStarts
            if !result.passed {
                summary.failures.append(result)
            }
        }
        return summary
    }

    /// The first seed in `firstSeed..<firstSeed+count` whose run finds a violation, if any.
    public static func firstFailure(firstSeed: UInt64, count: Int, template: SimulationOptions) -> SimulationResult? {
        for offset in 0..<UInt64(max(count, 0)) {
            var options = template
            options.seed = firstSeed &+ offset
            let result = Simulation.run(options)
            if !result.passed { return result }
        }
        return nil
    }
}
