// swift-tools-version: 6.1
// Macro benchmark for the NakshaStore target (issue 5): vectors/s for binary-COPY load and
// read. Build and run in release (see README.md):
//   swift build -c release && ./run.sh .build/release/store-bench
import Foundation
import PackageDescription

// The root package's identity is the name of the folder it was cloned into.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let rootIdentity = root.lastPathComponent.lowercased()

let package = Package(
    name: "naksha-store-bench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "store-bench",
            dependencies: [
                .product(name: "NakshaStore", package: rootIdentity),
                .product(name: "NakshaCore", package: rootIdentity),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/StoreBench",
            swiftSettings: [
                .enableUpcomingFeature("ExistentialAny"),
                .enableUpcomingFeature("MemberImportVisibility"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
