import ArgumentParser
import Foundation
import Logging
import MireBankDomain
import MireLocalServer
import MirePQ
import MirePostgres
import ServiceLifecycle
import Synchronization

/// Options every subcommand takes: where the database is, how much to log, how to print.
struct GlobalOptions: ParsableArguments {
    @Option(help: "PostgreSQL URL (default: $MIRE_DATABASE_URL, else the embedded server).")
    var database: String?

    @Option(help: "How much to log (to standard error).")
    var logLevel = LogLevel(.warning)

    @Flag(help: "Print data as JSON.")
    var json = false

    /// The URL to use, if the user gave one; nil means the embedded server.
    var databaseURL: String? {
        database ?? ProcessInfo.processInfo.environment["MIRE_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The embedded database, kept under the working directory: a primary (`.mire/postgres` at
    /// first) and any standbys `db start --replicas N` made.
    var embeddedCluster: LocalPostgresCluster {
        LocalPostgresCluster(at: URL(filePath: FileManager.default.currentDirectoryPath).appending(path: ".mire"))
    }

    /// The embedded cluster, for commands that only manage it (logging set up, no --database).
    func embeddedClusterOnly(for command: String) throws -> LocalPostgresCluster {
        _ = makeLogger()
        guard databaseURL == nil else {
            throw ValidationError("\(command) manages the embedded server; an external --database was given")
        }
        return embeddedCluster
    }

    /// The process's logger; logging is bootstrapped on the first call (apps bootstrap logging;
    /// libraries never do).
    func makeLogger() -> Logger {
        let level = logLevel.level
        LoggingBootstrap.once {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
        return Logger(label: "mire-bank")
    }

    /// Connects to the configured database, starting the embedded server when needed.
    func connect(logger: Logger) async throws -> BankDatabase {
        if let url = databaseURL {
            return BankDatabase(
                configuration: PGConfiguration(url: url, applicationName: "mire-bank"), embedded: false,
                logger: logger)
        }
        // Every member, in one connection string: after `db failover` this reaches the new primary.
        var configuration = try await embeddedCluster.start()
        configuration.applicationName = "mire-bank"
        return BankDatabase(configuration: configuration, embedded: true, logger: logger)
    }
}

/// `--log-level`: swift-log's levels, parsed by name.
struct LogLevel: ExpressibleByArgument, Sendable {
    let level: Logger.Level

    init?(argument: String) {
        guard let level = Logger.Level(rawValue: argument) else { return nil }
        self.level = level
    }

    init(_ level: Logger.Level) { self.level = level }

    static var allValueStrings: [String] { Logger.Level.allCases.map(\.rawValue) }

    var defaultValueDescription: String { level.rawValue }
}

/// The bank's handle on its database: a pool and where it points.
struct BankDatabase {
    let configuration: PGConfiguration
    let embedded: Bool
    let pool: PGPool
    let logger: Logger

    init(configuration: PGConfiguration, embedded: Bool, logger: Logger) {
        self.configuration = configuration
        self.embedded = embedded
        self.logger = logger
        self.pool = PGPool(configuration: configuration, maximumConnections: 8, logger: logger)
    }

    func migrate() async throws -> [Migration] {
        try await Migrator(pool: pool, logger: logger).migrate()
    }
}

/// Prints a value as pretty JSON (sorted keys) or as text lines.
func printOutput<T: Encodable>(_ value: T, json: Bool, text: () -> String) throws {
    if json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    } else {
        print(text())
    }
}

/// `LoggingSystem.bootstrap` may run only once per process.
enum LoggingBootstrap {
    private static let done = Mutex(false)

    static func once(_ body: () -> Void) {
        let first = done.withLock { done in
            defer { done = true }
            return !done
        }
        if first { body() }
    }
}

/// Runs `service` in the foreground until SIGINT or SIGTERM, which start its graceful shutdown
/// (a runner releases its lease, a worker finishes its delivery).
///
/// ```swift
/// try await runUntilSignalled(runner, logger: options.makeLogger())
/// ```
func runUntilSignalled(_ service: any Service, logger: Logger) async throws {
    let group = ServiceGroup(
        configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
}
