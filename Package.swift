// swift-tools-version: 6.1
import CompilerPluginSupport
import PackageDescription

/// One set of settings for every target: Swift 6 language mode (strict concurrency) and
/// `internal import` by default, so C types never leak into a public API.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Mire",
    // Synchronization's Mutex and Atomic need macOS 15; Linux needs nothing more than Swift 6.1.
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "MireCore", targets: ["MireCore"]),
        .library(name: "MireMacros", targets: ["MireMacros"]),
        .library(name: "MirePQ", targets: ["MirePQ"]),
        .library(name: "MirePostgres", targets: ["MirePostgres"]),
        .library(name: "MireSnapshots", targets: ["MireSnapshots"]),
        .library(name: "MireProjections", targets: ["MireProjections"]),
        .library(name: "MireTransactions", targets: ["MireTransactions"]),
        .library(name: "MireSagas", targets: ["MireSagas"]),
        .library(name: "MireTesting", targets: ["MireTesting"]),
        .library(name: "MireLocalServer", targets: ["MireLocalServer"]),
        .library(name: "MireBankDomain", targets: ["MireBankDomain"]),
        .executable(name: "mire-bank", targets: ["MireBank"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.3.0"),
        // `swift package generate-documentation`: the DocC catalogs (Modules/*/*.docc).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.4.0"),
        // `@MireEvent`: generated decoders for event enums (only apps that import MireMacros build it).
        .package(url: "https://github.com/swiftlang/swift-syntax.git", "602.0.0"..<"604.0.0"),
    ],
    targets: [
        // C system libraries: never products, always `internal import`.
        .systemLibrary(
            name: "CLibPQ",
            path: "Modules/CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            path: "Modules/CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),

        // The libpq driver: connections on their own executors, pool, queries, LISTEN/NOTIFY.
        .target(
            name: "MirePQ",
            dependencies: [
                "CLibPQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Modules/MirePQ",
            swiftSettings: swiftSettings
        ),

        // Event-sourcing types: pure Swift, no I/O.
        .target(name: "MireCore", path: "Modules/MireCore", swiftSettings: swiftSettings),

        // `@MireEvent`, the macro, and the compiler plugin that expands it.
        .macro(
            name: "MireMacrosPlugin",
            dependencies: [
                .product(name: "SwiftSyntaxMacros", package: "swift-syntax"),
                .product(name: "SwiftCompilerPlugin", package: "swift-syntax"),
            ],
            path: "Modules/MireMacrosPlugin",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MireMacros",
            dependencies: ["MireCore", "MireMacrosPlugin"],
            path: "Modules/MireMacros",
            swiftSettings: swiftSettings
        ),

        // The event store on PostgreSQL, migrations and the local-server helper.
        .target(
            name: "MirePostgres",
            dependencies: [
                "MireCore",
                "MirePQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            path: "Modules/MirePostgres",
            swiftSettings: swiftSettings,
            plugins: ["EmbedMigrations"]
        ),
        .target(
            name: "MireSnapshots",
            dependencies: ["MirePostgres", "CZlib", .product(name: "Metrics", package: "swift-metrics")],
            path: "Modules/MireSnapshots",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MireProjections",
            dependencies: [
                "MirePQ",
                "MirePostgres",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            path: "Modules/MireProjections",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MireTransactions",
            dependencies: [
                "MirePQ",
                "MirePostgres", .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            path: "Modules/MireTransactions",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MireSagas",
            dependencies: [
                "MirePQ", "MirePostgres", "MireProjections", "MireTransactions",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Modules/MireSagas",
            swiftSettings: swiftSettings
        ),

        // A PostgreSQL server of the project's own, for tools, tests and demos (process
        // spawning, runuser, socket calls): kept out of MirePostgres, so apps do not carry it.
        .target(
            name: "MireLocalServer",
            dependencies: ["MireCore", "MirePQ"],
            path: "Modules/MireLocalServer",
            swiftSettings: swiftSettings
        ),

        // For users' tests: an in-memory store, given/when/then, a throwaway server.
        .target(
            name: "MireTesting",
            dependencies: [
                "MirePQ", "MirePostgres", "MireLocalServer", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Modules/MireTesting",
            swiftSettings: swiftSettings
        ),

        // Build-time embedding of Migrations/*.sql into MirePostgres.
        .executableTarget(
            name: "MigrationEmbedder",
            path: "Tools/MigrationEmbedder",
            swiftSettings: swiftSettings
        ),
        .plugin(
            name: "EmbedMigrations",
            capability: .buildTool(),
            dependencies: ["MigrationEmbedder"],
            path: "Plugins/EmbedMigrations"
        ),

        // The sample bank's domain (accounts, money, the read model), shared by the CLI, the
        // HTTP example and the docs' compiled snippets.
        .target(
            name: "MireBankDomain",
            dependencies: [
                "MireCore", "MireMacros", "MirePQ", "MirePostgres", "MireSnapshots", "MireTransactions", "MireSagas",
                "MireProjections",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Apps/MireBankDomain",
            swiftSettings: swiftSettings
        ),
        // The sample bank's command line: the commands (a library, for the tests), and the
        // executable that runs them.
        .executableTarget(
            name: "MireBank",
            dependencies: ["MireBankCLI"],
            path: "Apps/MireBankMain",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MireBankCLI",
            dependencies: [
                "MireBankDomain",
                "MirePQ",
                "MireCore",
                "MirePostgres",
                "MireSnapshots",
                "MireProjections",
                "MireTransactions",
                "MireSagas",
                "MireLocalServer",
                "MireTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Apps/MireBank",
            swiftSettings: swiftSettings
        ),

        // Every Swift block of README.md and docs/*.md, compiled (and the docs' tests run): the
        // docs cannot rot. Excerpts are checked against the files they quote.
        .executableTarget(
            name: "DocSnippetExtractor",
            path: "Tools/DocSnippetExtractor",
            swiftSettings: swiftSettings
        ),
        .plugin(
            name: "CompileDocSnippets",
            capability: .buildTool(),
            dependencies: ["DocSnippetExtractor"],
            path: "Plugins/CompileDocSnippets"
        ),
        .testTarget(
            name: "DocSnippets",
            dependencies: [
                "MireCore", "MireMacros", "MirePQ", "MirePostgres", "MireSnapshots", "MireProjections",
                "MireTransactions", "MireSagas",
                "MireTesting", "MireLocalServer", "MireTestSupport", "MireBankDomain",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/DocSnippets",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: ["CompileDocSnippets"]
        ),

        // A throwaway server per test run, and a schema per test.
        .target(
            name: "MireTestSupport",
            dependencies: [
                "MirePostgres", "MirePQ", "MireLocalServer", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/MireTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MireTestingTests",
            dependencies: ["MirePQ", "MireTesting", "MireTestSupport"],
            path: "Tests/MireTestingTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MireCoreTests",
            dependencies: ["MireCore"],
            path: "Tests/MireCoreTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MireMacrosTests",
            dependencies: [
                "MireMacros", "MireMacrosPlugin",
                .product(name: "SwiftSyntaxMacrosGenericTestSupport", package: "swift-syntax"),
                .product(name: "SwiftSyntaxMacroExpansion", package: "swift-syntax"),
            ],
            path: "Tests/MireMacrosTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MirePQTests",
            dependencies: ["MirePQ", "MireTestSupport"],
            path: "Tests/MirePQTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MireBankTests",
            dependencies: [
                "MirePQ", "MireBankCLI", "MireBankDomain", "MirePostgres", "MireSagas", "MireTestSupport",
                "MireTesting",
            ],
            path: "Tests/MireBankTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MireProjectionsTests",
            dependencies: [
                "MirePQ",
                "MireProjections", "MireTransactions", "MireTestSupport", "MireLocalServer",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            path: "Tests/MireProjectionsTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MireSagasTests",
            dependencies: ["MirePQ", "MireSagas", "MireTestSupport"],
            path: "Tests/MireSagasTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MireSnapshotsTests",
            dependencies: [
                "MirePQ",
                "MireSnapshots", "MireTransactions", "MireTestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/MireSnapshotsTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MireTransactionsTests",
            dependencies: ["MirePQ", "MireTransactions", "MireTestSupport"],
            path: "Tests/MireTransactionsTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MirePostgresTests",
            dependencies: [
                "MirePostgres", "MirePQ", "MireLocalServer", "MireTestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            path: "Tests/MirePostgresTests",
            swiftSettings: swiftSettings
        ),
    ]
)
