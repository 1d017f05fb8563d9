import ArgumentParser
import Foundation
import MireBankDomain
import MireProjections

/// `mire-bank db status|start|stop|failover|migrate|reanchor`.
struct Database: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Manage the database: the embedded server and migrations.",
        subcommands: [Status.self, Start.self, Stop.self, Failover.self, Migrate.self, Reanchor.self]
    )

    struct StatusReport: Encodable {
        var server: String
        var running: Bool
        var port: Int?
        var dataDirectory: String?
        /// The embedded cluster's members, the primary first.
        var members: [Member]?
        var serverVersion: String?
        var migrations: [MigrationState]
        /// The read-model projection's lease and checkpoint, once its migration is applied.
        var projection: ProjectionStatus?

        struct Member: Encodable {
            var name: String
            var role: String
            var running: Bool
            var port: Int?
        }

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
                let cluster = options.embeddedCluster
                let server = cluster.member(cluster.topology.primary)
                report.dataDirectory = server.dataDirectory.path
                report.port = server.runningInstance?.port
                report.running = server.isRunning
                let members = cluster.members
                if members.count > 1 {
                    report.members = members.enumerated().map { index, member in
                        StatusReport.Member(
                            name: member.rootDirectory.lastPathComponent, role: index == 0 ? "primary" : "standby",
                            running: member.isRunning, port: member.runningInstance?.port)
                    }
                }
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
                for member in report.members ?? [] {
                    lines.append(
                        "  \(member.role) \(member.name): "
                            + (member.running ? "running on \(member.port ?? 0)" : "stopped"))
                }
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
        static let configuration = CommandConfiguration(
            abstract: "Start the embedded server (kept running), with hot standbys if asked.",
            discussion: """
                With --replicas N, makes standbys (streaming replication, one of them synchronous) \
                until there are N, and starts them all; commands then reach whichever server \
                takes writes, so they follow `db failover`.
                """)
        @OptionGroup var options: GlobalOptions
        @Option(help: "Hot standbys to have (0–5); made from the primary when missing.") var replicas: Int?

        func validate() throws {
            if let replicas, !(0...5).contains(replicas) { throw ValidationError("--replicas takes 0 to 5") }
        }

        func run() async throws {
            let cluster = try options.embeddedClusterOnly(for: "db start")
            let configuration = try await cluster.start(replicas: replicas)
            let topology = cluster.topology
            print("embedded server running: \(configuration)")
            if !topology.standbys.isEmpty {
                print(
                    "primary \(topology.primary); standbys \(topology.standbys.joined(separator: ", ")) (synchronous)")
            }
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the embedded server (its data is kept).")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let cluster = try options.embeddedClusterOnly(for: "db stop")
            let wasRunning = cluster.members.contains { $0.isRunning }
            try cluster.stop()
            print(wasRunning ? "embedded server stopped" : "embedded server was not running")
        }
    }

    struct Failover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Promote the embedded cluster's synchronous standby; the old primary becomes a standby.",
            discussion: """
                Needs `db start --replicas 1` or more. The primary stops cleanly, its synchronous \
                standby is promoted (so no acknowledged commit is lost), the other standbys follow \
                it, and the old primary is made again as a standby of the new one.
                """)
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let failover = try await options.embeddedClusterOnly(for: "db failover").failover()
            try printOutput(failover, json: options.json) {
                "\(failover.to) is the primary now (was \(failover.from), now its standby); "
                    + "writes paused for \(failover.milliseconds) ms"
            }
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

    struct Reanchor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "After moving the database to another cluster, make the projections' checkpoints valid there.",
            discussion: """
                Run once after a restore from a dump, a logical-replication cutover or an upgrade, \
                when projections refuse to run with "foreignCheckpoint". Safe to run again.
                """)
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let database = try await options.connect(logger: options.makeLogger())
            let reanchoring: Reanchoring
            do {
                _ = try await database.migrate()
                let store = EventStore(
                    pool: database.pool, configuration: .init(wakeUpChannel: nil), logger: database.logger)
                reanchoring = try await store.reanchorCheckpoints()
            } catch {
                await database.pool.shutdown()
                throw error
            }
            await database.pool.shutdown()
            try printOutput(reanchoring, json: options.json) {
                switch reanchoring.method {
                case .none: "every checkpoint already belongs to cluster \(reanchoring.clusterID)"
                case .adopted: "\(reanchoring.checkpoints) checkpoints adopted by cluster \(reanchoring.clusterID)"
                case .renumbered:
                    "\(reanchoring.checkpoints) checkpoints translated, \(reanchoring.renumberedEvents) moved events "
                        + "renumbered for cluster \(reanchoring.clusterID)"
                }
            }
        }
    }
}
