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
    /// appended here) and each checkpoint is translated exactly: it keeps the set of events it
    /// had handled, and events appended here since the move count as not yet handled. Leases
    /// are fenced so that running workers reload. Running it again changes nothing.
    ///
    /// ```swift
    /// let reanchoring = try await store.reanchorCheckpoints()
    /// print(reanchoring.method, reanchoring.checkpoints)
    /// ```
    public func reanchorCheckpoints() async throws -> Reanchoring {
        try await pool.withTransaction { connection in
            try await connection.query(
                "LOCK TABLE mire_events, mire_subscriptions, mire_projection_leases IN SHARE ROW EXCLUSIVE MODE")
            let facts = try await connection.query(
                """
                SELECT c.system_identifier, pg_current_xact_id(),
                       (SELECT count(*) FROM mire_subscriptions s
                        WHERE NOT (s.cursor_xid = '0' AND s.cursor_position = 0 AND s.delivered_ahead = '{}')
                          AND (s.cluster_id <> c.system_identifier
                               OR (s.cluster_id IS NULL AND s.cursor_xid >= pg_current_xact_id())))
                FROM pg_control_system() c
                """
            )[0]
            let clusterID = try facts.decode(Int64.self, at: 0)
            let now = try facts.decode(PGTransactionID.self, at: 1)
            guard try facts.decode(Int64.self, at: 2) > 0 else {
                try await connection.query(
                    "UPDATE mire_subscriptions SET cluster_id = \(clusterID) WHERE cluster_id IS NULL")
                return Reanchoring(clusterID: clusterID, method: .none, checkpoints: 0, renumberedEvents: 0)
            }
            let history = try await connection.query(
                """
                SELECT max(transaction_id) FILTER (WHERE NOT \(unescaped: Self.appendedHere(now))),
                       min(transaction_id) FILTER (WHERE \(unescaped: Self.appendedHere(now)))
                FROM mire_events e
                """
            )[0]
            let newestMoved = try history.decode(PGTransactionID?.self, at: 0)
            let oldestAppendedHere = try history.decode(PGTransactionID?.self, at: 1)
            // Adopting keeps every order as it is: right when the moved history is older than
            // anything this cluster issued since (or there is none: an upgrade keeps the ids).
            let adopt =
                newestMoved.map { moved in
                    moved < now && oldestAppendedHere.map { $0 > moved } ?? true
                } ?? true
            var renumbered: Int64 = 0
            let checkpoints: Int
            if adopt {
                checkpoints = try await connection.query(
                    """
                    UPDATE mire_subscriptions SET cluster_id = \(clusterID), updated_at = clock_timestamp()
                    WHERE cluster_id IS DISTINCT FROM \(clusterID)
                    """
                ).affectedRows
            } else {
                checkpoints = try await connection.query(Self.translateCheckpoints(to: clusterID, now: now))
                    .affectedRows
                try await connection.query("ALTER TABLE mire_events DISABLE TRIGGER mire_events_append_only")
                renumbered = Int64(
                    try await connection.query(
                        """
                        UPDATE mire_events e SET transaction_id = '\(unescaped: Self.movedHistoryTransactionID)'
                        WHERE NOT \(unescaped: Self.appendedHere(now)) AND transaction_id <> '\(unescaped: Self.movedHistoryTransactionID)'
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
            return Reanchoring(
                clusterID: clusterID, method: adopt ? .adopted : .renumbered, checkpoints: checkpoints,
                renumberedEvents: renumbered)
        }
    }

    /// The transaction id the moved history gets when renumbered: the first normal one, older
    /// than any a cluster issues.
    static let movedHistoryTransactionID = "3"

    /// Whether event row `e` was appended on this cluster (rather than moved here): its `xmin`
    /// is its own transaction id (Mire writes no subtransactions) and that id was issued here,
    /// before `now`. A moved row's `xmin` is the copying transaction's; should it match the
    /// row's old id by chance, the row counts as moved — and is renumbered, which is exact too.
    static func appendedHere(_ now: PGTransactionID) -> String {
        "(e.xmin::text::bigint = (e.transaction_id::text::numeric % 4294967296)::bigint"
            + " AND e.transaction_id < '\(now.rawValue)'::xid8)"
    }

    /// Each checkpoint as the same set of handled events once the moved history is renumbered:
    /// the cursor moves to the last position before the first unhandled moved event, the handled
    /// moved events after it are delivered ahead, and events appended here (never handled: the
    /// runners refused the checkpoint) come after the cursor. Every column on the right is the
    /// old row's.
    static func translateCheckpoints(to clusterID: Int64, now: PGTransactionID) -> PGQuery {
        """
        WITH handled_until AS (
            SELECT s.name,
                   coalesce((SELECT min(e.global_position) FROM mire_events e
                             WHERE NOT \(unescaped: appendedHere(now))
                               AND (e.transaction_id, e.global_position) > (s.cursor_xid, s.cursor_position)
                               AND e.global_position <> ALL (s.delivered_ahead)) - 1,
                            (SELECT coalesce(max(e.global_position), 0) FROM mire_events e
                             WHERE NOT \(unescaped: appendedHere(now)))) AS position
            FROM mire_subscriptions s
            WHERE NOT (s.cursor_xid = '0' AND s.cursor_position = 0 AND s.delivered_ahead = '{}')
        )
        UPDATE mire_subscriptions s SET
            cursor_xid = '\(unescaped: movedHistoryTransactionID)', cursor_position = h.position,
            delivered_ahead = coalesce((
                SELECT array_agg(e.global_position ORDER BY e.global_position) FROM mire_events e
                WHERE NOT \(unescaped: appendedHere(now)) AND e.global_position > h.position
                  AND ((e.transaction_id, e.global_position) <= (s.cursor_xid, s.cursor_position)
                       OR e.global_position = ANY (s.delivered_ahead))), '{}'),
            cluster_id = \(clusterID), updated_at = clock_timestamp()
        FROM handled_until h
        WHERE s.name = h.name
        """
    }
}
