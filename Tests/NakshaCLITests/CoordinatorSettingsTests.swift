import Foundation
import NakshaActors
import NakshaCoordinator
import NakshaRaft
import NakshaTestSupport
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

    // MARK: Who may join: TLS, the cluster token, loopback, --insecure

    static func configuration(
        peer host: String, tls: Bool = false, secret: ClusterSecret? = nil, insecure: Bool = false
    ) -> CoordinatorConfiguration {
        CoordinatorConfiguration(
            nodeID: 1, peers: [1: NodeAddress(host: host, port: 7401)], dataDirectory: "data/1",
            tlsCertificatePath: tls ? "node.pem" : nil, tlsPrivateKeyPath: tls ? "node.key" : nil, tlsCAPath: tls ? "ca.pem" : nil,
            clusterSecret: secret, insecure: insecure)
    }

    static let secret = ClusterSecret(bytes: Array("0123456789abcdef0123".utf8))
    struct SampleError: Error, Codable {}

    @Test(arguments: [
        ("127.0.0.1", true), ("127.8.9.10", true), ("localhost", true), ("LOCALHOST", true), ("::1", true), ("[::1]", true),
        ("0:0:0:0:0:0:0:1", true), ("0.0.0.0", false), ("10.0.0.5", false), ("128.0.0.1", false), ("127.0.0", false),
        ("::", false), ("::ffff:127.0.0.1", false), ("node-1.example", false), ("localhost.example", false), ("", false),
    ])
    func loopbackIsOnly127Slash8AndColonColonOneAndLocalhost(host: String, loopback: Bool) {
        #expect(CoordinatorConfiguration.isLoopback(host) == loopback)
    }

    @Test func aNonLoopbackPeerAddressWithoutTLSOrTokenIsRefusedAndSaysWhatToSet() {
        do {
            try Self.configuration(peer: "10.0.0.5").validate()
            Issue.record("an unprotected peer port on 10.0.0.5 was accepted")
        } catch {
            #expect(error.code == .invalidConfiguration)
            for advice in ["10.0.0.5:7401", "--tls-cert", "NAKSHA_CLUSTER_TOKEN", "--insecure"] {
                #expect(error.message.contains(advice), "\(error.message)")
            }
        }
    }

    @Test func aNonLoopbackPeerAddressIsAcceptedWithTLSATokenOrInsecure() throws {
        try Self.configuration(peer: "10.0.0.5", tls: true).validate()
        try Self.configuration(peer: "10.0.0.5", secret: Self.secret).validate()
        let insecure = Self.configuration(peer: "10.0.0.5", insecure: true)
        try insecure.validate()
        #expect(insecure.isPeerPortUnprotected)  // the coordinator logs a warning
        #expect(!Self.configuration(peer: "10.0.0.5", secret: Self.secret).isPeerPortUnprotected)
        // Loopback needs nothing.
        try Self.configuration(peer: "127.0.0.1").validate()
        #expect(!Self.configuration(peer: "127.0.0.1").isPeerPortUnprotected)
    }

    @Test func theThreeTLSFilesGoTogether() {
        var configuration = Self.configuration(peer: "127.0.0.1", tls: true)
        configuration.tlsPrivateKeyPath = nil
        do {
            try configuration.validate()
            Issue.record("a TLS certificate without its key was accepted")
        } catch {
            #expect(error.message.contains("--tls-key is not set"), "\(error.message)")
        }
    }

    @Test func theActorSystemGetsMutualTLSAndTheSecret() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for name in ["node.pem", "node.key", "ca.pem"] {
            try Data("not checked here".utf8).write(to: directory.appendingPathComponent(name))
        }
        var configuration = Self.configuration(peer: "10.0.0.5", secret: Self.secret)
        configuration.tlsCertificatePath = directory.appendingPathComponent("node.pem").path
        configuration.tlsPrivateKeyPath = directory.appendingPathComponent("node.key").path
        configuration.tlsCAPath = directory.appendingPathComponent("ca.pem").path
        let actors = try configuration.actorSystemConfiguration(host: "10.0.0.5", port: 7401, rebuildableErrors: [SampleError.self])
        #expect(actors.host == "10.0.0.5" && actors.port == 7401)
        #expect(actors.clusterSecret == Self.secret)
        #expect(actors.rebuildableErrors.count == 1)
        #expect(
            actors.security
                == .mutualTLS(.init(
                    certificateChainPath: directory.appendingPathComponent("node.pem").path,
                    privateKeyPath: directory.appendingPathComponent("node.key").path,
                    trustedCAPath: directory.appendingPathComponent("ca.pem").path)))

        configuration.tlsCAPath = directory.appendingPathComponent("missing.pem").path
        #expect { try configuration.actorSystemConfiguration(host: "10.0.0.5", port: 7401) } throws: { error in
            (error as? CoordinatorError)?.message.contains("cannot read --tls-ca") == true
        }
        let plain = try Self.configuration(peer: "127.0.0.1").actorSystemConfiguration(host: "127.0.0.1", port: 7401)
        #expect(plain.security == .plaintext && plain.clusterSecret == nil)
    }

    @Test func theTokenComesFromTheEnvironmentOrAFileAndMustBeLongEnough() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("token-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("0123456789abcdef0123\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(try CoordinatorConfiguration.loadClusterSecret(token: nil, tokenFile: path) == Self.secret)
        #expect(try CoordinatorConfiguration.loadClusterSecret(token: "0123456789abcdef0123", tokenFile: nil) == Self.secret)
        #expect(try CoordinatorConfiguration.loadClusterSecret(token: nil, tokenFile: nil) == nil)
        for (token, file, complaint) in [
            ("0123456789abcdef0123", path, "both set"), ("short", nil, "shorter than 16 bytes"),
            (nil, "/nonexistent/token", "cannot read --cluster-token-file"),
        ] {
            do {
                _ = try CoordinatorConfiguration.loadClusterSecret(token: token, tokenFile: file)
                Issue.record("accepted token \(token ?? "nil"), file \(file ?? "nil")")
            } catch {
                #expect(error.message.contains(complaint), "\(error.message)")
            }
        }
    }

    /// Runs `naksha` with extra environment variables.
    static func naksha(_ arguments: [String], environment: [String: String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = try builtExecutable("naksha")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Settings that must refuse before anything starts (exit 2, nothing is bound): each is
    /// read from a flag or the environment, as documented.
    @Test(arguments: [
        ([String](), [String: String](), "NAKSHA_CLUSTER_TOKEN"),
        (["--tls-cert", "node.pem"], [:], "--tls-key and --tls-ca are not set"),
        ([], ["NAKSHA_TLS_CERT": "node.pem", "NAKSHA_TLS_CA": "ca.pem"], "--tls-key is not set"),
        ([], ["NAKSHA_CLUSTER_TOKEN": "short"], "NAKSHA_CLUSTER_TOKEN is shorter than 16 bytes"),
        (["--cluster-token-file", "/nonexistent/token"], [:], "cannot read --cluster-token-file /nonexistent/token"),
        ([], ["NAKSHA_CLUSTER_TOKEN_FILE": "/nonexistent/env-token"], "cannot read --cluster-token-file /nonexistent/env-token"),
    ])
    func theCommandRefusesAnUnprotectedOrHalfConfiguredPeerPort(extra: [String], environment: [String: String], complaint: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("peer-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var clean = ["NAKSHA_CLUSTER_TOKEN": "", "NAKSHA_CLUSTER_TOKEN_FILE": "", "NAKSHA_INSECURE": "", "NAKSHA_TLS_CERT": "",
                     "NAKSHA_TLS_KEY": "", "NAKSHA_TLS_CA": ""]
        clean.merge(environment) { $1 }
        // 192.0.2.0/24 is TEST-NET-1: never bound, since the settings are refused first.
        let result = try Self.naksha(
            ["coordinator", "--node-id", "1", "--peers", "1=192.0.2.10:7401", "--data-dir", directory] + extra, environment: clean)
        #expect(result.status == 2, "\(result.output)")
        #expect(result.output.contains(complaint), "\(result.output)")
    }
}
