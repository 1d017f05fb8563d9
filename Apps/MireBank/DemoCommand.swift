import ArgumentParser
import Foundation
import MirePostgres

/// `mire-bank demo`: runs every pattern the bank demonstrates, in order.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the tour: start the database, migrate, then each pattern."
    )
    @OptionGroup var options: GlobalOptions

    struct Report: Encodable {
        var database: String
        var serverVersion: String
        var migrationsApplied: [String]
        var migrationsTotal: Int
        var tables: [String]
    }

    func run() async throws {
        let logger = options.makeLogger()
        let database = try await options.connect(logger: logger)
        let applied = try await database.migrate()
        let (version, tables) = try await database.pool.withConnection { connection in
            let version = try await connection.query("SHOW server_version").single(String.self)
            let tables = try await connection.query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 'mire%' ORDER BY 1"
            ).map { try $0.decode(String.self, at: 0) }
            return (version, tables)
        }
        await database.pool.shutdown()
        let report = Report(
            database: database.embedded ? "embedded (\(database.configuration))" : "\(database.configuration)",
            serverVersion: version,
            migrationsApplied: applied.map(\.name),
            migrationsTotal: Migration.all.count,
            tables: tables
        )
        try printOutput(report, json: options.json) {
            """
            Mire bank demo
              database: \(report.database)
              PostgreSQL \(report.serverVersion)
              migrations: \(Migration.all.count) known, \(applied.isEmpty ? "none pending" : "applied " + applied.map(\.name).joined(separator: ", "))
              tables: \(tables.joined(separator: ", "))
            """
        }
    }
}
