import Foundation
import NakshaActors

// Who may join: how the peer port is protected (mutual TLS, a cluster secret proved in the
// handshake, or loopback only), and the actor system configuration that follows from it.
extension CoordinatorConfiguration {
    /// The actor system configuration of this node's peer port: its address, mutual TLS
    /// when the three TLS files are set, and the cluster secret.
    ///
    /// - Throws: `invalidConfiguration` if only some of the TLS files are set or one cannot
    ///   be read.
    public func actorSystemConfiguration(
        host: String, port: Int, rebuildableErrors: [any (Error & Codable).Type] = []
    ) throws(CoordinatorError) -> ActorSystemConfiguration {
        let security: ActorSystemConfiguration.Security
        if let tls = try tlsFiles() {
            for (flag, path) in [("--tls-cert", tls.certificateChainPath), ("--tls-key", tls.privateKeyPath), ("--tls-ca", tls.trustedCAPath)]
            where !FileManager.default.isReadableFile(atPath: path) {
                throw CoordinatorError(.invalidConfiguration, "cannot read \(flag) \(path)")
            }
            security = .mutualTLS(tls)
        } else {
            security = .plaintext
        }
        return ActorSystemConfiguration(
            host: host, port: port, security: security, rebuildableErrors: rebuildableErrors, clusterSecret: clusterSecret)
    }

    /// True when this node's peer address is not loopback and the peer port has neither TLS
    /// nor a cluster secret: `validate()` refuses that unless `insecure` is set, and the
    /// coordinator should then log a warning.
    public var isPeerPortUnprotected: Bool {
        guard let own = peers[nodeID] else { return false }
        return !Self.isLoopback(own.host) && tlsCertificatePath == nil && tlsPrivateKeyPath == nil && tlsCAPath == nil
            && clusterSecret == nil
    }

    /// The TLS files, if all three are set; nil if none is.
    func tlsFiles() throws(CoordinatorError) -> ActorSystemConfiguration.TLS? {
        let files = [("--tls-cert", tlsCertificatePath), ("--tls-key", tlsPrivateKeyPath), ("--tls-ca", tlsCAPath)]
        let missing = files.filter { $0.1 == nil || $0.1?.isEmpty == true }.map(\.0)
        if missing.count == files.count { return nil }
        guard missing.isEmpty, let certificate = tlsCertificatePath, let key = tlsPrivateKeyPath, let ca = tlsCAPath else {
            throw CoordinatorError(
                .invalidConfiguration,
                "--tls-cert, --tls-key and --tls-ca go together; \(missing.joined(separator: " and ")) \(missing.count == 1 ? "is" : "are") not set")
        }
        return ActorSystemConfiguration.TLS(certificateChainPath: certificate, privateKeyPath: key, trustedCAPath: ca)
    }

    /// The cluster secret from `NAKSHA_CLUSTER_TOKEN` (`token`) or a file holding it
    /// (`tokenFile`); nil if neither is set. Surrounding white space is not part of it.
    ///
    /// - Throws: `invalidConfiguration` if both are set, the file cannot be read, or the
    ///   token is shorter than `ClusterSecret.minimumByteCount` bytes.
    public static func loadClusterSecret(token: String?, tokenFile: String?) throws(CoordinatorError) -> ClusterSecret? {
        let advice = "generate one with `openssl rand -hex 32`"
        switch (token, tokenFile) {
        case (nil, nil):
            return nil
        case (.some, .some):
            throw CoordinatorError(.invalidConfiguration, "NAKSHA_CLUSTER_TOKEN and --cluster-token-file are both set; set one")
        case (let token?, nil):
            guard let secret = ClusterSecret(token: token) else {
                throw CoordinatorError(
                    .invalidConfiguration, "NAKSHA_CLUSTER_TOKEN is shorter than \(ClusterSecret.minimumByteCount) bytes; \(advice)")
            }
            return secret
        case (nil, let path?):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CoordinatorError(.invalidConfiguration, "cannot read --cluster-token-file \(path)")
            }
            guard let secret = ClusterSecret(token: String(decoding: data, as: UTF8.self)) else {
                throw CoordinatorError(
                    .invalidConfiguration,
                    "--cluster-token-file \(path) holds fewer than \(ClusterSecret.minimumByteCount) bytes; \(advice)")
            }
            return secret
        }
    }

    /// Whether `host` is a loopback address: `localhost`, 127.0.0.0/8 or ::1 (with or
    /// without brackets). Anything else, names included, counts as reachable from outside.
    public static func isLoopback(_ host: String) -> Bool {
        var host = host.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host == "localhost" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        if octets.count == 4, octets.allSatisfy({ !$0.isEmpty && $0.count <= 3 && UInt8($0) != nil }) {
            return octets[0] == "127"
        }
        return ipv6Groups(host) == [0, 0, 0, 0, 0, 0, 0, 1]
    }

    /// The eight 16-bit groups of an IPv6 address in hex notation (with at most one `::`),
    /// or nil.
    private static func ipv6Groups(_ text: String) -> [UInt16]? {
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            for group in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(group.count), let value = UInt16(group, radix: 16) else { return nil }
                result.append(value)
            }
            return result
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 8 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count < 8 else { return nil }
        return head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
    }
}
