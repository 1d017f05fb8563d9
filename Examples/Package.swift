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
    products: [
        .executable(name: "mire-bank-server", targets: ["MireBankServer"])
    ],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        // No default traits: the example reads its own settings (no swift-configuration).
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0", traits: []),
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
        // The bank over HTTP: Hummingbird, the store and the projection runner in one ServiceGroup.
        .target(
            name: "BankServer",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "MireBankDomain", package: rootPackage),
                .product(name: "MirePostgres", package: rootPackage),
                .product(name: "MirePQ", package: rootPackage),
                .product(name: "MireProjections", package: rootPackage),
                .product(name: "MireTransactions", package: rootPackage),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/BankServer",
            swiftSettings: settings
        ),
        .executableTarget(
            name: "MireBankServer",
            dependencies: ["BankServer", .product(name: "Logging", package: "swift-log")],
            path: "Sources/MireBankServer",
            swiftSettings: settings
        ),
        // Starts mire-bank-server against a throwaway PostgreSQL and drives it over HTTP.
        .testTarget(
            name: "BankServerTests",
            dependencies: [
                "BankServer",
                .product(name: "MireBankDomain", package: rootPackage),
                .product(name: "MireLocalServer", package: rootPackage),
                .product(name: "MirePQ", package: rootPackage),
            ],
            path: "Tests/BankServerTests",
            swiftSettings: settings
        ),
    ]
)
