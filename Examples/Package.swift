// swift-tools-version: 6.1
import PackageDescription

// A path dependency's identity is its folder name: compute it, so a clone under any name resolves.
let rootPackage = Context.packageDirectory.split(separator: "/").dropLast().last.map(String.init) ?? "main"

let settings: [SwiftSetting] = [.swiftLanguageMode(.v6)]

/// Mire beside the packages a Swift server app already uses. A package of its own, so that the
/// core build never fetches or compiles them: `swift test --package-path Examples`.
let package = Package(
    name: "MireExamples",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
    ],
    targets: [
        // One file that imports postgres-nio and Mire's products, and names types of both.
        .target(
            name: "Coexistence",
            dependencies: [
                .product(name: "MirePostgres", package: rootPackage),
                .product(name: "MirePQ", package: rootPackage),
                .product(name: "MireProjections", package: rootPackage),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Sources/Coexistence",
            swiftSettings: settings
        ),
        .testTarget(
            name: "CoexistenceTests",
            dependencies: [
                "Coexistence",
                .product(name: "MireLocalServer", package: rootPackage),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Tests/CoexistenceTests",
            swiftSettings: settings
        ),
    ]
)
