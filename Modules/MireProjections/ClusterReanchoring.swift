import MirePQ
public import MirePostgres

/// What ``MirePostgres/EventStore/reanchorCheckpoints()`` did to the checkpoints it found.
public struct Reanchoring: Sendable, Hashable, Codable {
    /// How the checkpoints were made to fit this cluster.
    public enum Method: String, Sendable, Hashable, Codable {
        /// Every checkpoint already belonged to this cluster: nothing changed.
        case none
        /// The log's transaction ids are all below this cluster's (an upgrade, or a copy into a
        /// cluster whose ids are ahead): the checkpoints now record this cluster, unchanged.
        case adopted
        /// The log's transaction ids were ahead of this cluster's (a dump or logical copy into a
        /// younger cluster): every stored event now has one old transaction id, so the moved
        /// history is ordered by position, and each checkpoint was translated to that order.
        case renumbered
    }

    /// This cluster's `system_identifier`, now recorded in every checkpoint.
    public var clusterID: Int64
    /// What was done.
    public var method: Method
    /// Checkpoints re-anchored (recorded with this cluster, translated when renumbered).
    public var checkpoints: Int
    /// Events whose transaction id was rewritten (renumbered only).
    public var renumberedEvents: Int64
}

extension EventStore {
    /// Makes the projections' checkpoints valid on the cluster this store reaches, after the log
    /// was moved here from another one (a `pg_dump` restore, logical replication, `pg_upgrade`).
    /// Runners refuse such checkpoints (``MireCore/MireError/Code-swift.struct/foreignCheckpoint``)
    /// until this runs; run it once after the move, best before writers start here.
    ///
    /// In one transaction, with writers and runners locked out: when the moved history's
    /// transaction ids are older than every one this cluster issued since, the checkpoints are
    /// adopted as they are. Otherwise each moved event gets transaction id 3 (older than any a
    /// cluster issues, so the moved history is delivered in position order, before anything
    /// appended here) and every checkpoint is translated exactly: it keeps the set of events it
    /// had handled — a projection started here since the move included. Leases are fenced so
    /// that running workers reload. Running it again changes nothing.
    ///
    /// ```swift
    /// let reanchoring = try await store.reanchorCheckpoints()
    /// print(reanchoring.method, reanchoring.checkpoints)
    /// ```
    public func reanchorCheckpoints() async throws -> Reanchoring {
        try await pool.withTransaction { connection in
            try await connection.query(
                "LOCK TABLE mire_events, mire_subscriptions, mire_projection_leases IN SHARE ROW EXCLUSIVE MODE")
            // Every transaction still running (it could append later) has an id of at least
            // `horizon`; this cluster has issued no id of `next` or above.
            let facts = try await connection.query(
                """
                SELECT c.system_identifier, pg_snapshot_xmin(pg_current_snapshot()), pg_snapshot_xmax(pg_current_snapshot()),
                       (SELECT count(*) FROM mire_subscriptions s
                        WHERE NOT (s.cursor_xid = '0' AND s.cursor_position = 0 AND s.delivered_ahead = '{}')
                          AND s.cluster_id IS DISTINCT FROM c.system_identifier)
                FROM pg_control_system() c
                """
            )[0]
            let clusterID = try facts.decode(Int64.self, at: 0)
            let horizon = try facts.decode(PGTransactionID.self, at: 1)
            let next = try facts.decode(PGTransactionID.self, at: 2)
            let foreign = try facts.decode(Int64.self, at: 3)
            var renumbered: Int64 = 0
            var checkpoints = 0
            var method = Reanchoring.Method.none
            if foreign > 0 {
                let history = try await connection.query(Self.movedHistory(next: next))[0]
                let cut = try history.decode(Int64?.self, at: 0)
                let newestMoved = try history.decode(PGTransactionID?.self, at: 1)
                let oldestAppendedHere = try history.decode(PGTransactionID?.self, at: 2)
                // Adopting keeps every order as it is: right when the moved history is older
                // than anything this cluster issued since, or when nothing was moved (an
                // upgrade keeps the ids and the rows).
                let adopt =
                    newestMoved.map { moved in moved < horizon && oldestAppendedHere.map { $0 > moved } ?? true }
                    ?? true
                if adopt {
                    method = .adopted
                    checkpoints = try await connection.query(
                        """
                        UPDATE mire_subscriptions SET cluster_id = \(clusterID), updated_at = clock_timestamp()
                        WHERE cluster_id IS DISTINCT FROM \(clusterID)
                          AND NOT (cursor_xid = '0' AND cursor_position = 0 AND delivered_ahead = '{}')
                        """
                    ).affectedRows
                } else if let cut {
                    method = .renumbered
                    checkpoints = try await connection.query(
                        Self.translateCheckpoints(movedThrough: cut, clusterID: clusterID)
                    ).affectedRows
                    try await connection.query("ALTER TABLE mire_events DISABLE TRIGGER mire_events_append_only")
                    renumbered = Int64(
                        try await connection.query(
                            """
                            UPDATE mire_events SET transaction_id = '\(unescaped: Self.movedHistoryTransactionID)'
                            WHERE global_position <= \(cut) AND transaction_id <> '\(unescaped: Self.movedHistoryTransactionID)'
                            """
                        ).affectedRows)
                    try await connection.query("ALTER TABLE mire_events ENABLE TRIGGER mire_events_append_only")
                }
                // A worker holding a lease reloads its checkpoint (it was refusing it anyway).
                try await connection.query(
                    """
                    UPDATE mire_projection_leases
                    SET fence_token = fence_token + 1, leased_until = clock_timestamp() - interval '1 millisecond', worker_id = NULL
                    """)
            }
            try await connection.query(
                "UPDATE mire_subscriptions SET cluster_id = \(clusterID) WHERE cluster_id IS DISTINCT FROM \(clusterID)"
            )
            return Reanchoring(
                clusterID: clusterID, method: method, checkpoints: checkpoints, renumberedEvents: renumbered)
        }
    }

    /// The transaction id the moved history gets when renumbered: the first normal one, older
    /// than any a cluster issues.
    static let movedHistoryTransactionID = "3"

    /// Where the moved history ends (the newest position of a moved row), the newest moved
    /// transaction id, and the oldest id of an event appended here since.
    ///
    /// A row appended here has its own transaction's id as `xmin` (Mire writes no
    /// subtransactions), issued here (below `next`). A moved row has the copying
    /// transaction's: a restore copies many source transactions in one (that `xmin` holds
    /// several ids), logical replication one per source transaction, whose local id matches
    /// the source's only by chance. Appends here draw positions after every moved row (a dump
    /// restores the position sequence; a logical cutover must advance it), so the moved
    /// history is every position up to the newest row that is certainly moved.
    static func movedHistory(next: PGTransactionID) -> PGQuery {
        """
        WITH copiers AS (
            SELECT xmin::text AS id FROM mire_events GROUP BY xmin::text HAVING count(DISTINCT transaction_id) > 1
        ), cut AS (
            SELECT max(global_position) AS position FROM mire_events e
            WHERE e.xmin::text::bigint <> (e.transaction_id::text::numeric % 4294967296)::bigint
               OR e.transaction_id >= \(next)
               OR e.xmin::text IN (SELECT id FROM copiers)
        )
        SELECT cut.position,
               (SELECT max(transaction_id) FROM mire_events WHERE global_position <= cut.position),
               (SELECT min(transaction_id) FROM mire_events WHERE global_position > cut.position)
        FROM cut
        """
    }

    /// Each checkpoint as the same set of handled events in the renumbered order: the moved
    /// history (positions up to `cut`) by position, then the events appended here by their own
    /// ids. The set is judged by the old keys — for a checkpoint from another cluster, over the
    /// moved history only: it never saw the events appended here, whose ids belong to this
    /// cluster. The cursor moves to just before the first unhandled event in the new order, and
    /// the handled events after it are delivered ahead. Every column of `s` is the old row's.
    static func translateCheckpoints(movedThrough cut: Int64, clusterID: Int64) -> PGQuery {
        let handled = """
            (((e.old_id, e.position) <= (s.cursor_xid, s.cursor_position) OR e.position = ANY (s.delivered_ahead))
             AND (coalesce(s.cluster_id = \(clusterID), false) OR e.position <= \(cut)))
            """
        return """
            WITH events AS (
                SELECT global_position AS position, transaction_id AS old_id,
                       CASE WHEN global_position <= \(cut) THEN '\(unescaped: movedHistoryTransactionID)'::xid8
                            ELSE transaction_id END AS new_id
                FROM mire_events
            ), marks AS (
                SELECT s.name,
                       (SELECT e.new_id FROM events e WHERE NOT \(unescaped: handled)
                        ORDER BY e.new_id, e.position LIMIT 1) AS unhandled_id,
                       (SELECT e.position FROM events e WHERE NOT \(unescaped: handled)
                        ORDER BY e.new_id, e.position LIMIT 1) AS unhandled_position,
                       (SELECT e.new_id FROM events e ORDER BY e.new_id DESC, e.position DESC LIMIT 1) AS last_id,
                       (SELECT e.position FROM events e ORDER BY e.new_id DESC, e.position DESC LIMIT 1) AS last_position
                FROM mire_subscriptions s
                WHERE NOT (s.cursor_xid = '0' AND s.cursor_position = 0 AND s.delivered_ahead = '{}')
            ), cursors AS (
                SELECT name,
                       coalesce(unhandled_id, last_id, '0') AS id,
                       coalesce(unhandled_position - 1, last_position, 0) AS position
                FROM marks
            )
            UPDATE mire_subscriptions s SET
                cursor_xid = c.id, cursor_position = c.position,
                delivered_ahead = coalesce((
                    SELECT array_agg(e.position ORDER BY e.position) FROM events e
                    WHERE (e.new_id, e.position) > (c.id, c.position) AND \(unescaped: handled)), '{}'),
                updated_at = clock_timestamp()
            FROM cursors c
            WHERE s.name = c.name
            """
    }
}
