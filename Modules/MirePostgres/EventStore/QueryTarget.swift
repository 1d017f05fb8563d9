package import MirePQ

/// Where the store's statements run: any pooled connection, or one connection that holds an
/// open transaction (MireTransactions, projection handlers).
package enum QueryTarget: Sendable {
    case pool(PostgresPool)
    case connection(PostgresConnection)

    package func query(_ query: PostgresQuery, prepared: Bool = true) async throws -> PostgresRows {
        switch self {
        case .pool(let pool):
            try await pool.withConnection { connection in try await connection.query(query, prepared: prepared) }
        case .connection(let connection):
            try await connection.query(query, prepared: prepared)
        }
    }

    /// Runs `first`, then `second`, in one round trip (pipeline mode); returns `second`'s rows.
    /// Each statement takes its own snapshot, so `second` sees what `first` waited for.
    package func query(after first: PostgresQuery, _ second: PostgresQuery) async throws -> PostgresRows {
        switch self {
        case .pool(let pool):
            try await pool.withConnection { connection in try await connection.pipeline([first, second])[1] }
        case .connection(let connection):
            try await connection.pipeline([first, second])[1]
        }
    }
}
