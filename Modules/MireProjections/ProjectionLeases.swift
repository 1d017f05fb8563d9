public import Foundation
public import MirePQ
import MirePostgres

/// A lease held on a projection: who holds it and the fence token of this acquisition.
public struct LeaseGrant: Sendable, Hashable {
    /// The projection.
    public var projection: String
    /// The holder.
    public var workerID: String
    /// Rises on every acquisition; every checkpoint must carry the current one.
    public var fenceToken: Int64
}

/// A projection's lease and checkpoint, as stored.
public struct ProjectionStatus: Sendable, Hashable, Codable {
    /// The projection.
    public var name: String
    /// The lease holder, if a lease was ever taken.
    public var holder: String?
    /// The current fence token (0 before any lease).
    public var fenceToken: Int64
    /// When the lease runs out (database clock).
    public var leasedUntil: Date?
    /// Whether the lease is held right now.
    public var isLeased: Bool
    /// The checkpoint's transaction id and position.
    public var cursorTransactionID: UInt64
    /// The checkpoint's position.
    public var cursorPosition: Int64
    /// Events handled so far.
    public var eventsHandled: Int64
    /// How far behind the log's newest position the checkpoint is (an approximation in positions).
    public var lag: Int64
}

/// The lease + fence-token protocol, on the database clock only.
///
/// ```swift
/// let leases = ProjectionLeases(pool: pool)
/// if let grant = try await leases.acquire("balances", workerID: "worker-1", ttl: .seconds(10)) {
///     guard try await leases.heartbeat(grant, ttl: .seconds(10)) else { /* fenced: stop */ }
///     try await leases.release(grant)
/// }
/// ```
public struct ProjectionLeases: Sendable {
    /// Where leases live.
    public let pool: PGPool

    /// Leases over `pool`.
    public init(pool: PGPool) { self.pool = pool }

    /// Takes the lease unless another worker holds an unexpired one; a grant carries a fence
    /// token higher than any before. Nil when another worker holds it — or while a worker's
    /// checkpoint keeps the lease row locked longer than `lockTimeout` (try again later).
    public func acquire(
        _ projection: String, workerID: String, ttl: Duration, lockTimeout: Duration = .seconds(2)
    ) async throws -> LeaseGrant? {
        let rows: PGRows
        do {
            rows = try await pool.withTransaction(PGTransactionOptions(lockTimeout: lockTimeout)) { connection in
                let results = try await connection.commit(after: [
                    "INSERT INTO mire_subscriptions (name) VALUES (\(projection)) ON CONFLICT (name) DO NOTHING",
                    """
                    INSERT INTO mire_projection_leases (name, worker_id, leased_until, fence_token)
                    VALUES (\(projection), \(workerID), clock_timestamp() + \(ttl.milliseconds) * interval '1 millisecond', 1)
                    ON CONFLICT (name) DO UPDATE SET
                        worker_id = EXCLUDED.worker_id, leased_until = EXCLUDED.leased_until,
                        fence_token = mire_projection_leases.fence_token + 1, acquired_at = clock_timestamp()
                    WHERE mire_projection_leases.leased_until < clock_timestamp()
                       OR mire_projection_leases.worker_id = EXCLUDED.worker_id
                       OR mire_projection_leases.worker_id IS NULL
                    RETURNING fence_token
                    """,
                ])
                guard let upsert = results.last else {
                    throw PGError(code: .client, message: "taking the lease returned no result")
                }
                return upsert
            }
        } catch let error as PGError where error.isLockNotAvailable {
            return nil
        }
        guard let token = try rows.first?.decode(Int64.self, at: 0) else { return nil }
        return LeaseGrant(projection: projection, workerID: workerID, fenceToken: token)
    }

    /// Renews the lease; false means it was taken over (fenced): stop at once.
    public func heartbeat(_ grant: LeaseGrant, ttl: Duration) async throws -> Bool {
        try await pool.withConnection { connection in
            try await connection.query(
                """
                UPDATE mire_projection_leases
                SET leased_until = clock_timestamp() + \(ttl.milliseconds) * interval '1 millisecond'
                WHERE name = \(grant.projection) AND fence_token = \(grant.fenceToken) AND worker_id = \(grant.workerID)
                """,
                prepared: true
            ).affectedRows == 1
        }
    }

    /// Gives the lease up so another worker can take it at once.
    public func release(_ grant: LeaseGrant) async throws {
        try await pool.withConnection { connection in
            try await connection.query(
                """
                UPDATE mire_projection_leases SET leased_until = clock_timestamp() - interval '1 millisecond', worker_id = NULL
                WHERE name = \(grant.projection) AND fence_token = \(grant.fenceToken)
                """
            )
        }
    }

    /// What a checkpoint write found.
    public enum CheckpointOutcome: Sendable, Hashable {
        /// The checkpoint moved from the previous one to the new one.
        case written
        /// Another worker holds the lease now: stop.
        case fenced
        /// The stored checkpoint is no longer the previous one: this worker's earlier delivery
        /// committed after all (its reply was lost). Reload the checkpoint; nothing was written.
        case moved
    }

    /// Moves the checkpoint from `previous` to `checkpoint` if, and only if, `grant` is still the
    /// current lease and the stored checkpoint is still `previous` (a compare-and-set on both):
    /// a delivery can never be applied twice. The lease row is share-locked, so a takeover waits
    /// for this transaction. The checkpoint records the cluster it was written on; one written
    /// on another cluster is never moved (the outcome is `moved`, and reloading it refuses it).
    public func checkpoint(
        _ grant: LeaseGrant, from previous: Checkpoint, to checkpoint: Checkpoint, handled: Int,
        on connection: PGConnection
    ) async throws -> CheckpointOutcome {
        let rows = try await connection.query(
            """
            WITH lease AS (
                SELECT fence_token FROM mire_projection_leases
                WHERE name = \(grant.projection) AND fence_token = \(grant.fenceToken) FOR SHARE
            ), moved AS (
                UPDATE mire_subscriptions s SET
                    cursor_xid = \(PGTransactionID(checkpoint.cursor.transactionID)),
                    cursor_position = \(checkpoint.cursor.position),
                    delivered_ahead = \(checkpoint.deliveredAhead.sorted()),
                    fence_token = lease.fence_token,
                    events_handled = s.events_handled + \(Int64(handled)),
                    updated_at = clock_timestamp(),
                    cluster_id = cluster.id
                FROM lease, (SELECT system_identifier AS id FROM pg_control_system()) cluster
                WHERE s.name = \(grant.projection)
                  -- Never over a checkpoint from another cluster (the runner reloads and refuses
                  -- it); one at the start belongs to any.
                  AND (s.cluster_id IS NULL OR s.cluster_id = cluster.id
                       OR (s.cursor_xid = '0' AND s.cursor_position = 0 AND s.delivered_ahead = '{}'))
                  AND s.cursor_xid = \(PGTransactionID(previous.cursor.transactionID))
                  AND s.cursor_position = \(previous.cursor.position)
                  AND s.delivered_ahead = \(previous.deliveredAhead.sorted())
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM lease)
            """,
            prepared: true
        )
        guard let row = rows.first else {
            throw PGError(code: .client, message: "the checkpoint statement returned no row")
        }
        let (moved, leased) = try row.decode((Int64, Int64).self)
        if moved == 1 { return .written }
        return leased == 1 ? .moved : .fenced
    }

    /// The stored checkpoint of a projection, refused with ``MireError/Code-swift.struct/foreignCheckpoint``
    /// when it was written on another cluster than the one `connection` (or the pool) reaches:
    /// its cursor's transaction ids would skip or repeat events here.
    ///
    /// ```swift
    /// let checkpoint = try await leases.checkpoint(of: "balances")
    /// ```
    public func checkpoint(of projection: String, on connection: PGConnection? = nil) async throws -> Checkpoint {
        let query: PGQuery = """
            SELECT s.cursor_xid, s.cursor_position, s.delivered_ahead, s.cluster_id, c.system_identifier
            FROM pg_control_system() c LEFT JOIN mire_subscriptions s ON s.name = \(projection)
            """
        let rows: PGRows
        if let connection {
            rows = try await connection.query(query, prepared: true)
        } else {
            rows = try await pool.withConnection { try await $0.query(query, prepared: true) }
        }
        let row = rows[0]
        guard let xid = try row.decode(PGTransactionID?.self, at: 0) else { return Checkpoint() }
        let position = try row.decode(Int64.self, at: 1)
        let ahead = try row.decode([Int64].self, at: 2)
        let checkpoint = Checkpoint(
            cursor: .init(transactionID: xid.rawValue, position: position), deliveredAhead: Set(ahead))
        let recorded = try row.decode(Int64?.self, at: 3)
        let current = try row.decode(Int64.self, at: 4)
        // A checkpoint at the start belongs to any cluster; any other must name this one
        // (migration 008 named the checkpoints it found, unless the log had been moved).
        guard checkpoint.cursor == .start && ahead.isEmpty || recorded == current else {
            throw MireError(
                code: .foreignCheckpoint,
                message: "the checkpoint of '\(projection)' was written on another PostgreSQL cluster "
                    + (recorded.map { "(system identifier \($0); this one is \(current))" }
                        ?? "(it names no cluster: it was copied with a moved log)")
                    + ": its cursor would skip or repeat events here",
                position: position,
                recovery: "if the log was moved here on purpose (restore, logical replication, upgrade), run "
                    + "EventStore.reanchorCheckpoints() (mire-bank db reanchor) once before starting writers; "
                    + "otherwise point the store at the cluster the checkpoint came from")
        }
        return checkpoint
    }

    /// The lease and checkpoint of a projection.
    public func status(_ projection: String) async throws -> ProjectionStatus {
        let rows = try await pool.withConnection { connection in
            try await connection.query(
                """
                SELECT l.worker_id, coalesce(l.fence_token, 0), l.leased_until, coalesce(l.leased_until > clock_timestamp(), false),
                       coalesce(s.cursor_xid, '0'::xid8), coalesce(s.cursor_position, 0), coalesce(s.events_handled, 0),
                       greatest(coalesce((SELECT max(global_position) FROM mire_events), 0) - coalesce(s.cursor_position, 0), 0)
                FROM (SELECT \(projection) AS name) n
                LEFT JOIN mire_projection_leases l ON l.name = n.name
                LEFT JOIN mire_subscriptions s ON s.name = n.name
                """
            )
        }
        let row = rows[0]
        let (holder, token, until, leased) = try row.decode((String?, Int64, Date?, Bool).self)
        let xid = try row.decode(PGTransactionID.self, at: 4)
        let position = try row.decode(Int64.self, at: 5)
        let handled = try row.decode(Int64.self, at: 6)
        let lag = try row.decode(Int64.self, at: 7)
        return ProjectionStatus(
            name: projection, holder: holder, fenceToken: token, leasedUntil: until, isLeased: leased,
            cursorTransactionID: xid.rawValue, cursorPosition: position, eventsHandled: handled, lag: lag
        )
    }
}

extension Duration {
    /// Whole milliseconds, at least 1.
    var milliseconds: Int64 {
        timeoutMilliseconds
    }
}
