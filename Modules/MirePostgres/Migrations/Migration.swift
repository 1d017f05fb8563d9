/// One versioned schema change, compiled into the library from `Migrations/NNN_name.sql`.
///
/// ```swift
/// for migration in Migration.all { print(migration.version, migration.name) }
/// ```
public struct Migration: Sendable, Hashable {
    /// The number the file name starts with; migrations apply in this order.
    public let version: Int
    /// The file name, e.g. `001_event_log.sql`.
    public let name: String
    /// The SQL text, exactly as in the file.
    public let sql: String

    /// Every migration Mire ships, in version order.
    public static let all: [Migration] = EmbeddedMigrations.files.map { file in
        let digits = file.name.prefix { $0.isNumber }
        guard let version = Int(digits) else {
            preconditionFailure("migration file \(file.name) must start with its version number")
        }
        return Migration(version: version, name: file.name, sql: file.sql)
    }
    .sorted { $0.version < $1.version }
}

/// Namespace for the generated list of migration files (see the EmbedMigrations plugin).
enum EmbeddedMigrations {}
