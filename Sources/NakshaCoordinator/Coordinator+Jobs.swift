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
    /// start. A graph that calls another as a subgraph is registered after it (files are
    /// tried again after a pass that registered something). Files that do not load, or that
    /// the cluster refuses in the end, are logged and skipped.
    func registerGraphs(in directory: String) async {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            logger.info("no graphs directory", metadata: ["graphs_dir": "\(directory)"])
            return
        }
        var pending: [(name: String, path: String, yaml: String)] = []
        for name in names.sorted() where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
            let path = "\(directory)/\(name)"
            guard let yaml = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            do {
                _ = try GraphDefinition.load(yaml: yaml, fileName: name)
            } catch {
                logger.warning("graph file skipped", metadata: ["file": "\(path)", "reason": "\(error)"])
                continue
            }
            pending.append((name, path, yaml))
        }
        var refusals: [String: ClusterError] = [:]
        while !pending.isEmpty, !Task.isCancelled {
            var left: [(name: String, path: String, yaml: String)] = []
            for file in pending {
                switch await registerUntilAnswered(file.yaml, name: file.name) {
                case .success(let outcome):
                    if case .graphRegistered(let info, let created) = outcome {
                        logger.info("graph registered", metadata: ["graph": "\(info.reference)", "created": "\(created)", "file": "\(file.path)"])
                    }
                case .failure(let error):
                    refusals[file.path] = error
                    left.append(file)
                case nil:
                    return  // cancelled, or no leader for a minute
                }
            }
            if left.count == pending.count { break }  // no progress: the rest is refused for good
            pending = left
        }
        for file in pending {
            logger.warning("graph not registered", metadata: ["file": "\(file.path)", "error": "\(refusals[file.path].map { "\($0)" } ?? "")"])
        }
    }

    /// Registers one graph, waiting up to a minute for a leader: the outcome, the cluster's
    /// refusal, or nil when there was no answer.
    private func registerUntilAnswered(_ yaml: String, name: String) async -> Result<ClusterOutcome, ClusterError>? {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline, !Task.isCancelled {
            do {
                return .success(try await registerGraph(yaml: yaml, fileName: name))
            } catch let error as ClusterError {
                return .failure(error)
            } catch {
                // No leader yet (or the node is still starting): wait and ask again.
                do { try await Task.sleep(for: .milliseconds(200)) } catch { return nil }
            }
        }
        return nil
    }
}
