import ArgumentParser
import Foundation
import MireBankDomain
import MireProjections

/// `mire-bank db status|start|stop|migrate`.
struct Database: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Manage the database: the embedded server and migrations.",
        subcommands: [Status.self, Start.self, Stop.self, Migrate.self]
    )

    struct StatusReport: Encodable {
        var server: String
        var running: Bool
        var port: Int?
        var dataDirectory: String?
        var serverVersion: String?
        var migrations: [MigrationState]
        /// The read-model projection's lease and checkpoint, once its migration is applied.
        var projection: ProjectionStatus?

        struct MigrationState: Encodable {
            var name: String
            var applied: Bool
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the server and which migrations are applied.")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let logger = options.makeLogger()
            var report = StatusReport(
                server: options.databaseURL == nil ? "embedded" : "external", running: false, migrations: [])
            if options.databaseURL == nil {
                let server = options.embeddedServer
                report.dataDirectory = server.dataDirectory.path
                report.port = server.runningInstance?.port
                report.running = server.isRunning
            }
            if report.running || options.databaseURL != nil {
                let database = try await options.connect(logger: logger)
                report.running = true
                report.serverVersion = try await database.pool.withConnection { connection in
                    try await connection.query("SHOW server_version").single(String.self)
                }
                report.migrations = try await Migrator(pool: database.pool, logger: logger).status().map {
                    .init(name: $0.migration.name, applied: $0.isApplied)
                }
                if report.migrations.allSatisfy(\.applied) {
                    report.projection = try await ProjectionLeases(pool: database.pool).status(ReadModel.projectionName)
                }
                await database.pool.shutdown()
            }
            try printOutput(report, json: options.json) {
                var lines = ["server: \(report.server)" + (report.running ? ", running" : ", stopped")]
                if let port = report.port { lines.append("port: \(port)") }
                if let directory = report.dataDirectory { lines.append("data: \(directory)") }
                if let version = report.serverVersion { lines.append("PostgreSQL \(version)") }
                for migration in report.migrations {
                    lines.append("  \(migration.applied ? "applied" : "pending")  \(migration.name)")
                }
                if let projection = report.projection {
                    let holder = projection.isLeased ? "held by \(projection.holder ?? "?")" : "not held"
                    lines.append(
                        "projection \(projection.name): lease \(holder) (token \(projection.fenceToken)), "
                            + "\(projection.eventsHandled) events handled, lag \(projection.lag)")
                }
                return lines.joined(separator: "\n")
            }
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start the embedded server (kept running).")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let configuration = try await options.embeddedServerOnly(for: "db start").start()
            print("embedded server running: \(configuration)")
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the embedded server (its data is kept).")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let server = try options.embeddedServerOnly(for: "db stop")
            let wasRunning = server.isRunning
            try server.stop()
            print(wasRunning ? "embedded server stopped" : "embedded server was not running")
        }
    }

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply pending migrations.")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let database = try await options.connect(logger: options.makeLogger())
            let applied = try await database.migrate()
            await database.pool.shutdown()
            try printOutput(applied.map(\.name), json: options.json) {
                applied.isEmpty ? "up to date" : "applied: " + applied.map(\.name).joined(separator: ", ")
            }
        }
    }
}
