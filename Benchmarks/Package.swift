// swift-tools-version: 6.1
import PackageDescription

// A path dependency's identity is its folder name: compute it, so a clone under any name resolves.
let rootPackage = Context.packageDirectory.split(separator: "/").dropLast().last.map(String.init) ?? "main"

let settings: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "MireBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // libpq called directly, for the raw side of every comparison.
        .systemLibrary(name: "CLibPQRaw", path: "Sources/CLibPQRaw", pkgConfig: "libpq"),
        // The same work done through Mire and through raw libpq, shared by both runners below.
        .target(
            name: "DriverWorkloads",
            dependencies: ["CLibPQRaw", .product(name: "MirePostgres", package: rootPackage)],
            path: "Sources/DriverWorkloads",
            swiftSettings: settings
        ),
        // Prints Mire vs raw libpq side by side with the ratio: `swift run -c release driver-ratios`.
        .executableTarget(
            name: "driver-ratios",
            dependencies: ["DriverWorkloads"],
            path: "Sources/DriverRatios",
            swiftSettings: settings
        ),
        // The event store vs hand-written SQL: `swift run -c release store-ratios`.
        .executableTarget(
            name: "store-ratios",
            dependencies: ["DriverWorkloads", .product(name: "MirePostgres", package: rootPackage)],
            path: "Sources/StoreRatios",
            swiftSettings: settings
        ),
        // Transfers through MireTransactions vs hand-written SQL: `swift run -c release transfer-ratios`.
        .executableTarget(
            name: "transfer-ratios",
            dependencies: ["DriverWorkloads", .product(name: "MireTransactions", package: rootPackage)],
            path: "Sources/TransferRatios",
            swiftSettings: settings
        ),
        // Snapshots: load times by stream length, zlib, save cost: `swift run -c release snapshot-ratios`.
        .executableTarget(
            name: "snapshot-ratios",
            dependencies: ["DriverWorkloads", .product(name: "MireSnapshots", package: rootPackage)],
            path: "Sources/SnapshotRatios",
            swiftSettings: settings
        ),
        // Projections: catch-up rate and wake-up latency: `swift run -c release projection-ratios`.
        .executableTarget(
            name: "projection-ratios",
            dependencies: ["DriverWorkloads", .product(name: "MireProjections", package: rootPackage)],
            path: "Sources/ProjectionRatios",
            swiftSettings: settings
        ),
        // A profiling target: loads of one 1,000-event stream (`swift run -c release load-profile`).
        .executableTarget(
            name: "load-profile",
            dependencies: ["DriverWorkloads", .product(name: "MirePostgres", package: rootPackage)],
            path: "Sources/LoadProfile",
            swiftSettings: settings
        ),
        // Distributions (p50…p99, allocations) with ordo-one/benchmark: `swift package benchmark`.
        .executableTarget(
            name: "DriverBenchmarks",
            dependencies: ["DriverWorkloads", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/DriverBenchmarks",
            swiftSettings: settings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
