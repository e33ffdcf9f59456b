import Foundation
import NakshaCoordinator
import NakshaRaft
import Testing

/// The Raft timing settings of `naksha coordinator`: etcd-style milliseconds to ticks, and a
/// clear refusal of settings that would elect spuriously.
@Suite struct CoordinatorSettingsTests {
    @Test func theDefaultsAreTheNodesDefaults() throws {
        let options = try CoordinatorConfiguration.raftTiming(heartbeatInterval: .milliseconds(100), electionTimeout: .milliseconds(500))
        let defaults = RaftNode.Options()
        #expect(options.tickInterval == defaults.tickInterval)
        #expect(options.heartbeatIntervalTicks == defaults.heartbeatIntervalTicks)
        #expect(options.electionTimeoutTicks == defaults.electionTimeoutTicks)
    }

    @Test func aWideAreaSettingMapsToTicksOfHalfAHeartbeat() throws {
        let options = try CoordinatorConfiguration.raftTiming(heartbeatInterval: .milliseconds(300), electionTimeout: .milliseconds(3000))
        #expect(options.tickInterval == .milliseconds(150))
        #expect(options.heartbeatIntervalTicks == 2)
        #expect(options.electionTimeoutTicks == 20)
    }

    @Test(arguments: [(100, 400), (4, 100), (101, 1000), (100, 525)])
    func settingsThatWouldMisbehaveAreRefused(heartbeat: Int, election: Int) {
        #expect(throws: CoordinatorError.self) {
            try CoordinatorConfiguration.raftTiming(
                heartbeatInterval: .milliseconds(heartbeat), electionTimeout: .milliseconds(election))
        }
    }

    @Test func theCommandExitsTwoAndSaysWhy() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("timing-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try CLITests.naksha([
            "coordinator", "--node-id", "1", "--peers", "1=127.0.0.1:7409", "--data-dir", directory,
            "--heartbeat-interval", "100", "--election-timeout", "300",
        ])
        #expect(result.status == 2)
        #expect(result.output.contains("at least 5 × --heartbeat-interval"), "\(result.output)")
    }
}
