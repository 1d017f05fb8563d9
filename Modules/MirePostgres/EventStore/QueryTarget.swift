public import MirePQ

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
}
