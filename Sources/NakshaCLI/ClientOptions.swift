import ArgumentParser
import Foundation
import NakshaProtocol

/// `--server`: the coordinators' client ports (the binary protocol), for every command that
/// talks to a running cluster. The client rotates through the list on connection failures
/// and elections, so naming every coordinator survives any one being down.
struct ClientOptions: ParsableArguments {
    static let defaultServers = "127.0.0.1:7700,127.0.0.1:7701,127.0.0.1:7702,127.0.0.1:7703"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Coordinators' client addresses, HOST:PORT[,HOST:PORT…]. Env: NAKSHA_SERVER.",
            discussion: "Default \(defaultServers): a coordinator on its default port, then the three of `naksha dev`."))
    var server: String?

    var servers: [String] {
        let text = server ?? ProcessInfo.processInfo.environment["NAKSHA_SERVER"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultServers
        return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// A client for `servers`, with `NAKSHA_API_TOKEN` as its bearer token.
    func client(timeout: Duration = .seconds(30)) throws -> NakshaClient {
        let token = ProcessInfo.processInfo.environment["NAKSHA_API_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        do {
            return try NakshaClient(NakshaClient.Configuration(servers: servers, token: token, defaultTimeout: timeout))
        } catch let error as RPCError {
            throw CLIError("--server: \(error.message)")
        }
    }
}

/// `--http`: a coordinator's HTTP port, for the commands the binary protocol does not carry
/// (membership and leadership changes).
struct HTTPOption: ParsableArguments {
    @Option(name: .long, help: "A coordinator's HTTP address, HOST:PORT. Env: NAKSHA_HTTP. Default 127.0.0.1:8080.")
    var http: String?

    var client: GatewayClient {
        GatewayClient(server: http ?? ProcessInfo.processInfo.environment["NAKSHA_HTTP"].flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1:8080")
    }
}

/// Runs `body`, printing an `RPCError` or `CLIError` as `error: …` (exit status 1).
func runClient(_ body: () async throws -> Void) async throws {
    try await runReporting {
        do {
            try await body()
        } catch let error as RPCError {
            throw CLIError(JobText.describe(error))
        }
    }
}
