import NIOSSL

/// The server and client TLS contexts of one node, built once from the configured files.
struct TLSContexts: Sendable {
    let server: NIOSSLContext
    let client: NIOSSLContext
}

extension ActorSystemConfiguration.Security {
    /// Builds the contexts for mutual TLS: each side presents its certificate and accepts
    /// only a peer certificate that chains to the cluster CA. Peers are addressed by IP, so
    /// the check is the chain, not the host name.
    func makeContexts() throws -> TLSContexts? {
        switch self {
        case .plaintext:
            return nil
        case .mutualTLS(let files):
            let chain = try NIOSSLCertificate.fromPEMFile(files.certificateChainPath).map { NIOSSLCertificateSource.certificate($0) }
            let key = NIOSSLPrivateKeySource.privateKey(try NIOSSLPrivateKey(file: files.privateKeyPath, format: .pem))
            let roots = NIOSSLTrustRoots.certificates(try NIOSSLCertificate.fromPEMFile(files.trustedCAPath))
            var server = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: key)
            server.trustRoots = roots
            server.certificateVerification = .noHostnameVerification
            server.minimumTLSVersion = .tlsv12
            var client = TLSConfiguration.makeClientConfiguration()
            client.certificateChain = chain
            client.privateKey = key
            client.trustRoots = roots
            client.certificateVerification = .noHostnameVerification
            client.minimumTLSVersion = .tlsv12
            return TLSContexts(server: try NIOSSLContext(configuration: server), client: try NIOSSLContext(configuration: client))
        }
    }
}
