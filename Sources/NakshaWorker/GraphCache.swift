import NakshaClusterAPI
import NakshaGraph

/// Graph versions by content hash, fetched from the cluster once and kept (a version never
/// changes). Bounded: past `capacity` versions, the oldest fetched is dropped.
actor GraphCache {
    let connection: ClusterConnection
    let capacity: Int
    private var graphs: [String: GraphDefinition] = [:]
    private var order: [String] = []

    init(connection: ClusterConnection, capacity: Int = 256) {
        self.connection = connection
        self.capacity = capacity
    }

    func definition(contentHash: String) async throws(NodeFailure) -> GraphDefinition {
        if let known = graphs[contentHash] { return known }
        let source: GraphSourceText
        do {
            source = try await connection.call("graph", within: .seconds(30)) { try await $0.graph(contentHash: contentHash) }
        } catch {
            throw NodeFailure(.graphUnavailable, "cannot fetch graph version \(contentHash.prefix(12)): \(error)", retryable: true)
        }
        let definition: GraphDefinition
        do {
            definition = try GraphDefinition.load(yaml: source.yaml, fileName: "\(source.reference.name).yaml")
        } catch {
            throw NodeFailure(.graphUnavailable, "graph \(source.reference) does not load on this worker: \(error)")
        }
        graphs[contentHash] = definition
        order.append(contentHash)
        if order.count > capacity { graphs[order.removeFirst()] = nil }
        return definition
    }
}
