import Distributed
import Foundation
import Logging
import NakshaCore
import NakshaGraph
import NakshaRaft
import NakshaState
import RaftCore

/// The job queue as the gateway (and later the client protocol) uses it: every change is a
/// `ClusterCommand` proposed through the log at the leader (forwarded from a follower), every
/// read a linearizable read of `ClusterState` (ReadIndex, then served here).
extension Coordinator {
    /// Proposes `command` and returns its outcome, or throws the state's `ClusterError`.
    /// `requestID` makes a retry after `outcomeUnknown` apply at most once.
    public func propose(_ command: ClusterCommand, requestID: RequestID? = nil, timeout: Duration = .seconds(10)) async throws -> ClusterOutcome {
        let bytes = ClusterState.encodeCommand(command)
        guard let answer = try await node.whenLocal({ try await $0.submit(bytes, machine: ClusterStateMachine.tag, requestID: requestID, timeout: timeout) }) else {
            throw CoordinatorError(.startFailed, "the local Raft node is gone")
        }
        switch try ClusterState.decodeResult(answer) {
        case .success(let outcome): return outcome
        case .failure(let error): throw error
        }
    }

    /// A linearizable read of the cluster state.
    public func readState<T: Sendable>(timeout: Duration = .seconds(5), _ body: @escaping @Sendable (ClusterState) -> T) async throws -> T {
        guard
            let value = try await node.whenLocal({ node in
                try await node.linearizableRead(machine: ClusterStateMachine.tag, timeout: timeout) { machine in
                    (machine as? ClusterStateMachine).map { body($0.state) }
                }
            }) ?? nil
        else {
            throw CoordinatorError(.startFailed, "the cluster state is not hosted here")
        }
        return value
    }

    /// The state as this replica holds it now (not linearizable: waits that poll, metrics).
    public func localState<T: Sendable>(_ body: @escaping @Sendable (ClusterState) -> T) async -> T? {
        await node.whenLocal { node in
            node.readLocal(machine: ClusterStateMachine.tag) { machine in (machine as? ClusterStateMachine).map { body($0.state) } } ?? nil
        } ?? nil
    }

    /// Registers a graph from its YAML, after checking it here (so a bad file is answered with
    /// its line and column and nothing is written).
    public func registerGraph(yaml: String, fileName: String = "graph") async throws -> ClusterOutcome {
        let definition = try GraphDefinition.load(yaml: yaml, fileName: fileName)
        return try await propose(
            .registerGraph(RegisterGraph(name: definition.name, yaml: yaml, contentHash: SHA256.hexDigest(Array(yaml.utf8)))))
    }

    /// Registers every `*.yaml` / `*.yml` graph in `directory`, retrying until the cluster
    /// has a leader; idempotent (same content, same version), so every coordinator does it at
    /// start. Files that do not load are logged and skipped.
    func registerGraphs(in directory: String) async {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            logger.info("no graphs directory", metadata: ["graphs_dir": "\(directory)"])
            return
        }
        for name in names.sorted() where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
            let path = "\(directory)/\(name)"
            guard let yaml = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            if let problem = (try? GraphDefinition.load(yaml: yaml, fileName: name)) == nil ? "does not load" : nil {
                logger.warning("graph file skipped", metadata: ["file": "\(path)", "reason": "\(problem)"])
                continue
            }
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline, !Task.isCancelled {
                do {
                    let outcome = try await registerGraph(yaml: yaml, fileName: name)
                    if case .graphRegistered(let info, let created) = outcome {
                        logger.info("graph registered", metadata: ["graph": "\(info.reference)", "created": "\(created)", "file": "\(path)"])
                    }
                    break
                } catch let error as ClusterError {
                    logger.warning("graph not registered", metadata: ["file": "\(path)", "error": "\(error)"])
                    break
                } catch {
                    try? await Task.sleep(for: .milliseconds(200))  // no leader yet
                }
            }
        }
    }
}
