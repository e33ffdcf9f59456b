// naksha-actor-peer: a process that hosts a `NodeDiagnostics` actor, for the cross-process
// tests and the transport benchmark.
//
//   naksha-actor-peer serve [--port N]        prints "READY <port> <incarnation>", serves until killed
//   naksha-actor-peer bench --peer HOST:PORT [--seconds S] [--in-flight N] [--payload-bytes B]
import Foundation
import NIOCore
import NIOPosix
import NakshaActors

func argument(_ name: String, default value: String) -> String {
    let arguments = CommandLine.arguments
    if let index = arguments.firstIndex(of: name), index + 1 < arguments.count { return arguments[index + 1] }
    return value
}

// Run Swift concurrency on NIO's event loops: a call's continuation then resumes on the
// thread that read its reply, without a hop to the cooperative pool.
if let loops = Int(argument("--event-loops", default: "")), loops > 0 {
    NIOSingletons.groupLoopCountSuggestion = loops
}
if CommandLine.arguments.contains("--nio-executor") {
    _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}

let mode = CommandLine.arguments.dropFirst().first ?? "serve"
switch mode {
case "serve":
    let port = Int(argument("--port", default: "0")) ?? 0
    let system = try await NakshaActorSystem.start(ActorSystemConfiguration(port: port))
    let diagnostics = NodeDiagnostics.wellKnown(on: system)
    print("READY \(system.address.port) \(system.incarnation)")
    fflush(nil)
    while true {
        try await Task.sleep(for: .seconds(3600))
        _ = diagnostics
    }
case "bench":
    try await PeerBenchmark.run(
        peer: argument("--peer", default: "127.0.0.1:7400"),
        seconds: Double(argument("--seconds", default: "5")) ?? 5,
        inFlight: Int(argument("--in-flight", default: "64")) ?? 64,
        payloadBytes: Int(argument("--payload-bytes", default: "0")) ?? 0
    )
default:
    FileHandle.standardError.write(Data("usage: naksha-actor-peer serve [--port N] | bench --peer HOST:PORT [--seconds S] [--in-flight N] [--payload-bytes B]\n".utf8))
    exit(2)
}
