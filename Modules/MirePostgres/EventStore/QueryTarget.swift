package import MirePQ

/// Where the store's statements run: any pooled connection, or one connection that holds an
/// open transaction (MireTransactions, projection handlers).
package enum QueryTarget: Sendable {
    private static func second(_ connection: PGConnection, _ first: PGQuery, _ second: PGQuery)
        async throws -> PGRows
    {
        let rows = try await connection.pipeline([first, second], prepared: true)
        guard rows.count == 2 else {
            throw PGError(code: .client, message: "the pipeline returned \(rows.count) results for 2 statements")
        }
        return rows[1]
    }

    case pool(PGPool)
    case connection(PGConnection)

    /// Whether each statement commits on its own (a pooled connection outside any transaction).
    package var isAutocommit: Bool {
        if case .pool = self { return true }
        return false
    }

    /// Runs `body` on one connection: a pooled one for its duration, or the transaction's.
    package func withConnection<T>(
        isolation: isolated (any Actor)? = #isolation, _ body: (PGConnection) async throws -> T
    ) async throws -> T {
        switch self {
        case .pool(let pool): try await pool.withConnection { connection in try await body(connection) }
        case .connection(let connection): try await body(connection)
        }
    }

    package func query(_ query: PGQuery, prepared: Bool = true) async throws -> PGRows {
        switch self {
        case .pool(let pool):
            try await pool.withConnection { connection in try await connection.query(query, prepared: prepared) }
        case .connection(let connection):
            try await connection.query(query, prepared: prepared)
        }
    }

    /// Runs `statements` in one round trip (pipeline mode, prepared); one result each.
    package func pipeline(_ statements: [PGQuery]) async throws -> [PGRows] {
        let rows: [PGRows]
        switch self {
        case .pool(let pool):
            rows = try await pool.withConnection { connection in
                try await connection.pipeline(statements, prepared: true)
            }
        case .connection(let connection):
            rows = try await connection.pipeline(statements, prepared: true)
        }
        guard rows.count == statements.count else {
            throw PGError(
                code: .client, message: "the pipeline returned \(rows.count) results for \(statements.count) statements"
            )
        }
        return rows
    }

    /// Runs `first`, then `second`, in one round trip (pipeline mode); returns `second`'s rows.
    /// Each statement takes its own snapshot, so `second` sees what `first` waited for.
    package func query(after first: PGQuery, _ second: PGQuery) async throws -> PGRows {
        switch self {
        case .pool(let pool):
            try await pool.withConnection { connection in try await Self.second(connection, first, second) }
        case .connection(let connection):
            try await Self.second(connection, first, second)
        }
    }
}
