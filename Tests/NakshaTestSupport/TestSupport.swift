import Foundation
import Glibc

/// What the test targets share: finding the binaries the package builds, and loopback ports
/// that stay usable across a server's restart.

/// Why a test could not set itself up (as opposed to a failed expectation).
public struct TestSupportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// An executable the package builds, found next to the test bundle
/// (`.build/<configuration>/<name>`; `swift build --build-tests` builds it).
public func builtExecutable(_ names: String...) throws -> URL {
    var directory = Bundle.main.bundleURL
    for _ in 0..<4 {
        for name in names {
            let candidate = directory.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        directory.deleteLastPathComponent()
    }
    throw TestSupportError("\(names.joined(separator: " or ")) is not built next to \(Bundle.main.bundleURL.path); run swift build --build-tests first")
}

/// A loopback port below the kernel's ephemeral range (32768–60999 here) that is free now,
/// and not in `taken` (which it joins).
///
/// Tests that stop a server and start another on the same port use it: a port from the
/// ephemeral range can be handed to another test's `bind(0)` or outgoing connection in
/// between, and then the "restarted" server is somebody else.
public func stableLoopbackPort(avoiding taken: inout Set<Int>) throws -> Int {
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<200 {
        let port = Int.random(in: 20_000..<32_000, using: &generator)
        guard !taken.contains(port), isFreeLoopbackPort(port) else { continue }
        taken.insert(port)
        return port
    }
    throw TestSupportError("no free loopback port in 20000..<32000")
}

/// `stableLoopbackPort(avoiding:)` for a single port.
public func stableLoopbackPort() throws -> Int {
    var taken: Set<Int> = []
    return try stableLoopbackPort(avoiding: &taken)
}

/// Whether a loopback port can be bound now.
public func isFreeLoopbackPort(_ port: Int) -> Bool {
    let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socketFD >= 0 else { return false }
    defer { close(socketFD) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    return withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}
