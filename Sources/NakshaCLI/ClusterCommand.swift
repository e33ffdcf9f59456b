import ArgumentParser
import Foundation
import NIOHTTP1
import NakshaCoordinator
import NakshaProtocol

/// `naksha cluster …`: status (over the client protocol, `--server`) and membership and
/// leadership changes (over a coordinator's HTTP gateway, `--http`; a follower forwards them
/// to the leader).
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Show and change the coordinator group.",
        subcommands: [Status.self, TransferLeader.self, AddLearner.self, Promote.self, Remove.self]
    )

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Members, roles, leader, term, commit and applied index, match indexes.")
        @OptionGroup var connection: ClientOptions
        @Flag(help: "Print JSON (the fields of GET /v1/cluster).") var json = false

        func run() async throws {
            try await runClient {
                let client = try connection.client()
                defer { Task { await client.close() } }
                let report = ClusterCommand.report(try await client.clusterStatus())
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                    print(String(decoding: try encoder.encode(report), as: UTF8.self))
                } else {
                    print(ClusterCommand.render(report))
                }
            }
        }
    }

    struct TransferLeader: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "transfer-leader", abstract: "Hand leadership to another voter.")
        @OptionGroup var server: HTTPOption
        @Option(help: "The voter that should lead.") var to: UInt64

        func run() async throws {
            try await runReporting {
                let report = try await server.client.json(ClusterStatusReport.self, .POST, "/v1/cluster/transfer-leader?to=\(to)")
                print(ClusterCommand.render(report))
            }
        }
    }

    struct AddLearner: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-learner",
            abstract: "Add a new member as a non-voting learner (start it first with --join).")
        @OptionGroup var server: HTTPOption
        @Option(help: "The new member's id.") var id: UInt64
        @Option(help: "The new member's peer address, HOST:PORT.") var address: String

        func run() async throws {
            try await runReporting {
                let body = Array(try JSONEncoder().encode(HTTPGateway.AddLearnerRequest(id: id, address: address)))
                print(ClusterCommand.render(try await server.client.json(ClusterStatusReport.self, .POST, "/v1/cluster/members", body: body)))
            }
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a caught-up learner a voter.")
        @OptionGroup var server: HTTPOption
        @Option(help: "The learner's id.") var id: UInt64

        func run() async throws {
            try await runReporting {
                print(ClusterCommand.render(try await server.client.json(ClusterStatusReport.self, .POST, "/v1/cluster/members/\(id)/promote")))
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a member (move leadership away from it first).")
        @OptionGroup var server: HTTPOption
        @Option(help: "The member's id.") var id: UInt64

        func run() async throws {
            try await runReporting {
                print(ClusterCommand.render(try await server.client.json(ClusterStatusReport.self, .DELETE, "/v1/cluster/members/\(id)")))
            }
        }
    }

    /// The protocol's answer in the shape `GET /v1/cluster` has.
    static func report(_ status: Naksha_V1_ClusterStatusResponse) -> ClusterStatusReport {
        ClusterStatusReport(
            leader: status.leader == 0 ? nil : status.leader, term: status.term, commitIndex: status.commitIndex, appliedIndex: status.appliedIndex,
            servedBy: status.servedBy, answeredBy: status.answeredBy,
            members: status.members.map { member in
                ClusterStatusReport.Member(
                    id: member.id, role: member.role, address: member.address.isEmpty ? nil : member.address,
                    matchIndex: member.role == "leader" || member.matchIndex > 0 ? member.matchIndex : nil)
            })
    }

    static func render(_ report: ClusterStatusReport) -> String {
        var lines: [String] = []
        let leader = report.leader.map { "node \($0)" } ?? "none (election in progress or no quorum)"
        lines.append("leader \(leader) · term \(report.term) · commit \(report.commitIndex) · applied \(report.appliedIndex)")
        lines.append("view of node \(report.servedBy)\(report.servedBy == report.answeredBy ? "" : ", asked node \(report.answeredBy)")")
        lines.append("")
        lines.append("ID    ROLE      ADDRESS                 MATCH")
        for member in report.members.sorted(by: { $0.id < $1.id }) {
            let match = member.matchIndex.map(String.init) ?? "-"
            lines.append(
                String(member.id).padding(toLength: 6, withPad: " ", startingAt: 0) + member.role.padding(toLength: 10, withPad: " ", startingAt: 0)
                    + (member.address ?? "?").padding(toLength: 24, withPad: " ", startingAt: 0) + match)
        }
        return lines.joined(separator: "\n")
    }
}

/// Runs `body`; a `CLIError` is printed as `error: …` with exit status 1.
func runReporting(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as CLIError {
        FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
        throw ExitCode(1)
    }
}
