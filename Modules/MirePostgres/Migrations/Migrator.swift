public import Logging
import MireCore
public import MirePQ

/// Applies Mire's migrations to the schema first on the connection's `search_path`.
///
/// Each pending migration runs in its own transaction and is recorded with its SHA-256
/// checksum. The whole run holds an advisory lock, so replicas that start together apply each
/// migration once. A migration that was edited after being applied is refused.
///
/// ```swift
/// let applied = try await Migrator(pool: pool, logger: logger).migrate()
/// print("applied", applied.map(\.name))
/// ```
public struct Migrator: Sendable {
    /// Where migrations are applied.
    public let pool: PGPool
    /// The migrations to apply (Mire's own by default).
    public let migrations: [Migration]
    let logger: Logger

    /// A migrator over `pool`.
    public init(pool: PGPool, migrations: [Migration] = Migration.all, logger: Logger) {
        self.pool = pool
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.logger = logger
    }

    /// One migration's state in the database.
    public struct Status: Sendable, Hashable {
        /// The migration.
        public let migration: Migration
        /// Whether it has been applied.
        public let isApplied: Bool
    }

    /// Applies every pending migration, in order; returns those it applied (none when up to date).
    ///
    /// - Throws: `MireError` with code `migration` when an applied migration was edited or a
    ///   migration fails (that migration is rolled back; earlier ones stay applied).
    @discardableResult
    public func migrate() async throws -> [Migration] {
        try await pool.withConnection { connection in
            try await connection.withAdvisoryLock(Self.lockKey) { connection in try await apply(on: connection) }
        }
    }

    /// Which migrations are applied, without changing anything.
    public func status() async throws -> [Status] {
        try await pool.withConnection { connection in
            let applied = try await appliedChecksums(on: connection)
            return migrations.map { Status(migration: $0, isApplied: applied[$0.version] != nil) }
        }
    }

    /// The advisory lock id every process uses for migrations ("miremigr" in ASCII).
    static let lockKey: Int64 = 0x6d69_7265_6d69_6772  // "miremigr"

    private func apply(on connection: PGConnection) async throws -> [Migration] {
        try await connection.executeScript(
            """
            CREATE TABLE IF NOT EXISTS mire_schema_migrations (
                version    integer     PRIMARY KEY,
                name       text        NOT NULL,
                checksum   text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        let applied = try await appliedChecksums(on: connection)
        let checksums = try await Self.checksums(of: migrations, on: connection)
        var newlyApplied: [Migration] = []
        for (migration, checksum) in zip(migrations, checksums) {
            if let recorded = applied[migration.version] {
                guard recorded == checksum else {
                    throw MireError(
                        code: .migration,
                        message: "migration \(migration.name) was changed after it was applied "
                            + "(recorded checksum \(recorded.prefix(12))…, file \(checksum.prefix(12))…)",
                        recovery: "restore the original file and put the change in a new migration"
                    )
                }
                continue
            }
            logger.debug("applying migration", metadata: ["migration": "\(migration.name)"])
            do {
                try await connection.withTransaction { connection in
                    try await connection.executeScript(migration.sql)
                    try await connection.query(
                        """
                        INSERT INTO mire_schema_migrations (version, name, checksum)
                        VALUES (\(Int32(migration.version)), \(migration.name), \(checksum))
                        """
                    )
                }
            } catch {
                throw MireError(
                    code: .migration,
                    message: "migration \(migration.name) failed and was rolled back: "
                        + ((error as? PGError)?.message ?? "\(error)"),
                    recovery: "fix the database state or the migration, then migrate again",
                    underlying: error
                )
            }
            newlyApplied.append(migration)
        }
        return newlyApplied
    }

    private func appliedChecksums(on connection: PGConnection) async throws -> [Int: String] {
        let exists = try await connection.query("SELECT to_regclass('mire_schema_migrations') IS NOT NULL")
            .single(Bool.self)
        guard exists else { return [:] }
        var result: [Int: String] = [:]
        for row in try await connection.query("SELECT version, checksum FROM mire_schema_migrations") {
            let (version, checksum) = try row.decode((Int32, String).self)
            result[Int(version)] = checksum
        }
        return result
    }

    /// SHA-256 of each migration's text, computed by the server (no crypto dependency needed),
    /// all in one round trip.
    static func checksums(of migrations: [Migration], on connection: PGConnection) async throws -> [String] {
        try await connection.query(
            """
            SELECT encode(sha256(convert_to(sql, 'UTF8')), 'hex')
            FROM unnest(\(migrations.map(\.sql))::text[]) WITH ORDINALITY AS m(sql, n) ORDER BY n
            """
        ).map { try $0.decode(String.self, at: 0) }
    }
}
