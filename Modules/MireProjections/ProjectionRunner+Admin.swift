import MirePQ
import MirePostgres

extension ProjectionRunner {
    /// The lease and checkpoint of a projection.
    public func status(_ projection: String) async throws -> ProjectionStatus {
        try await leases.status(projection)
    }

    /// Waits until `projection` has handled the event at `position` (read-your-writes for a
    /// read model, and tests).
    ///
    /// ```swift
    /// let saved = try await store.save(&account)
    /// try await runner.waitUntilCaughtUp("account_balances", to: saved.positions.last!)
    /// ```
    public func waitUntilCaughtUp(_ projection: String, to position: Int64, timeout: Duration = .seconds(30))
        async throws
    {
        let key = try await store.pool.withConnection { connection in
            try await connection.query("SELECT transaction_id FROM mire_events WHERE global_position = \(position)")
                .first.map {
                    Checkpoint.Key(
                        transactionID: try $0.decode(PGTransactionID.self, at: 0).rawValue, position: position)
                }
        }
        guard let key else {
            throw MireError(
                code: .invalidOperation, message: "no event is stored at position \(position)", position: position)
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await leases.checkpoint(of: projection).hasHandled(key) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw MireError(
            code: .timeout, message: "projection \(projection) did not reach position \(position) in time",
            position: position,
            recovery: "check that a runner holds the projection's lease (status) and that its handler is not failing"
        )
    }

    /// Starts `projection` again from the beginning of the log: clears its read model (its
    /// `reset` closure), resets the checkpoint, and fences the current lease holder so it reloads.
    public func reset(_ projection: Projection) async throws {
        try await store.pool.withTransaction { connection in
            try await connection.query(
                """
                UPDATE mire_projection_leases
                SET fence_token = fence_token + 1, leased_until = clock_timestamp() - interval '1 millisecond', worker_id = NULL
                WHERE name = \(projection.name)
                """)
            try await connection.query(
                """
                UPDATE mire_subscriptions
                SET cursor_xid = '0', cursor_position = 0, delivered_ahead = '{}', events_handled = 0, updated_at = clock_timestamp(),
                    cluster_id = NULL
                WHERE name = \(projection.name)
                """)
            try await connection.query("DELETE FROM mire_projection_skipped WHERE name = \(projection.name)")
            try await projection.reset?(connection)
        }
    }
}
