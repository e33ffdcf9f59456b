import NakshaGraph

/// One registered graph version: its YAML (what is replicated and snapshotted) and the
/// definition parsed from it (rebuilt when a snapshot is restored).
struct GraphVersionRecord: Sendable, Hashable {
    var info: GraphVersionInfo
    var yaml: String
    var definition: GraphDefinition
}

extension GraphVersionRecord: Codable {
    enum CodingKeys: String, CodingKey { case info, yaml }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        info = try container.decode(GraphVersionInfo.self, forKey: .info)
        yaml = try container.decode(String.self, forKey: .yaml)
        do {
            definition = try GraphDefinition.load(yaml: yaml, fileName: info.name)
        } catch {
            throw DecodingError.dataCorruptedError(
                forKey: .yaml, in: container, debugDescription: "graph \(info.reference) no longer loads: \(error)")
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(info, forKey: .info)
        try container.encode(yaml, forKey: .yaml)
    }
}
