// swift-tools-version: 6.1
import PackageDescription

// A path dependency's identity is its folder name: compute it, so a clone under any name resolves.
let rootPackage = Context.packageDirectory.split(separator: "/").dropLast().last.map(String.init) ?? "main"

let settings: [SwiftSetting] = [.swiftLanguageMode(.v6)]

/// A benchmark executable in `Sources/<folder>` on the shared workloads and one Mire product.
func ratios(_ name: String, in folder: String, using product: String = "MirePostgres") -> Target {
    .executableTarget(
        name: name,
        dependencies: [
            "DriverWorkloads", .product(name: product, package: rootPackage),
            .product(name: "MirePQ", package: rootPackage),
        ],
        path: "Sources/\(folder)",
        swiftSettings: settings
    )
}

let package = Package(
    name: "MireBenchmarks",
    platforms: [.macOS(.v15)],
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
            dependencies: [
                "CLibPQRaw", .product(name: "MirePostgres", package: rootPackage),
                .product(name: "MireMacros", package: rootPackage),
                .product(name: "MirePQ", package: rootPackage), .product(name: "MireLocalServer", package: rootPackage),
            ],
            path: "Sources/DriverWorkloads",
            swiftSettings: settings
        ),
        // Each prints Mire beside the same work over raw libpq: `swift run -c release NAME`.
        ratios("driver-ratios", in: "DriverRatios"),
        ratios("store-ratios", in: "StoreRatios"),
        ratios("transfer-ratios", in: "TransferRatios", using: "MireTransactions"),
        ratios("snapshot-ratios", in: "SnapshotRatios", using: "MireSnapshots"),
        ratios("projection-ratios", in: "ProjectionRatios", using: "MireProjections"),
        ratios("subscription-ratios", in: "SubscriptionRatios", using: "MireProjections"),
        ratios("saga-ratios", in: "SagaRatios", using: "MireSagas"),
        // Failover time as writers see it, and loads from the primary only or with a standby.
        ratios("replica-ratios", in: "ReplicaRatios", using: "MireLocalServer"),
        // A profiling target: repeated loads of one 1,000-event stream.
        ratios("load-profile", in: "LoadProfile"),
        // A profiling target: one-event saves in a loop.
        ratios("save-profile", in: "SaveProfile"),
        // Peak memory while replaying a 1,000,000-event stream.
        ratios("replay-memory", in: "ReplayMemory"),
        // The charts in docs/, drawn from results/*.json.
        .executableTarget(
            name: "render-charts", dependencies: ["DriverWorkloads"], path: "Sources/RenderCharts",
            swiftSettings: settings),
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
