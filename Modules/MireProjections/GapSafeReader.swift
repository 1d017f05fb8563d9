public import MirePQ
public import MirePostgres

/// Reads the log for projections without ever skipping an event that commits late.
///
/// Only events of finished transactions are read: `transaction_id < pg_snapshot_xmin(pg_current_snapshot())`,
/// in `(transaction_id, global_position)` order, after the checkpoint's cursor. No transaction can
/// still add an event below that horizon, so the cursor never passes an event that is yet to come;
/// rolled-back positions simply never appear.
///
/// Within one stream, xid order and version order can disagree (a transaction that drew its xid
/// early, or two saves racing for the stream's row lock). Such an event is handed over only after
/// its predecessors: they are delivered early (and remembered in ``Checkpoint/deliveredAhead``),
/// or, while one of them is still unfinished, the batch stops before the event, so the checkpoint
/// never passes it.
///
/// ```swift
/// let reader = GapSafeReader(pool: pool)
/// let batch = try await reader.next(after: checkpoint, category: "account", limit: 500)
/// for step in batch.steps { if let event = step.event { … } }
/// ```
public struct GapSafeReader: Sendable {
    /// One step of a batch: an event to hand over (or none, for an event handled earlier), and the
    /// checkpoint once this step is done.
    public struct Step: Sendable {
        /// The event to handle; nil when this step only moves the cursor past an event delivered ahead.
        public var event: RawRecordedEvent?
        /// The checkpoint after this step.
        public var checkpoint: Checkpoint
    }

    /// What one read produced.
    public struct Batch: Sendable {
        /// The steps, in delivery order.
        public var steps: [Step]
        /// True when the batch stopped before an event whose stream predecessor is not finished
        /// yet, or when committed events wait above the horizon for an older transaction to end:
        /// read again soon rather than wait for a notification.
        public var isHeldBack: Bool

        /// The checkpoint after the whole batch (the input checkpoint when there are no steps).
        public func finalCheckpoint(from start: Checkpoint) -> Checkpoint { steps.last?.checkpoint ?? start }
        /// The events to handle.
        public var events: [RawRecordedEvent] { steps.compactMap(\.event) }
    }

    /// Where the log lives.
    public let pool: PGPool

    /// A reader over `pool`.
    public init(pool: PGPool) { self.pool = pool }

    /// The next batch after `checkpoint`, at most `limit` rows read.
    public func next(after checkpoint: Checkpoint, category: String?, limit: Int) async throws -> Batch {
        try await pool.withConnection { connection in
            try await next(after: checkpoint, category: category, limit: limit, on: connection)
        }
    }

    func next(after start: Checkpoint, category: String?, limit: Int, on connection: PGConnection) async throws
        -> Batch
    {
        let cursorXID = PGTransactionID(start.cursor.transactionID)
        let categoryFilter: PGQuery =
            """
            WITH horizon AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
            SELECT e.stream_version, e.global_position, e.transaction_id, e.event_type, e.payload, e.metadata,
                   e.event_id, e.recorded_at, e.stream_id,
                   (p.global_position IS NOT NULL
                    AND (p.transaction_id, p.global_position) > (e.transaction_id, e.global_position)) AS out_of_order,
                   h.xmin
            FROM horizon h
            JOIN mire_events e ON e.transaction_id < h.xmin
            LEFT JOIN mire_events p ON p.stream_id = e.stream_id AND p.stream_version = e.stream_version - 1
            WHERE (e.transaction_id, e.global_position) > (\(cursorXID), \(start.cursor.position))
              AND (\(category)::text IS NULL OR e.category = \(category))
            ORDER BY e.transaction_id, e.global_position
            LIMIT \(Int64(limit))
            """
        let rows = try await connection.query(categoryFilter, prepared: true)
        if rows.isEmpty {
            // Nothing below the horizon. Are committed events of this reader waiting after the
            // cursor? Either an older transaction still open somewhere holds them above the
            // horizon, or that transaction ended since the read above (this is a new snapshot):
            // both ways their notification has come and gone, so the caller should look again
            // soon. (Asking only for events above the horizon missed the second case: the
            // horizon had moved past them, and the reader slept a whole poll interval.)
            let waiting = try await connection.query(
                """
                SELECT EXISTS (
                    SELECT 1 FROM mire_events
                    WHERE (transaction_id, global_position) > (\(cursorXID), \(start.cursor.position))
                      AND (\(category)::text IS NULL OR category = \(category))
                )
                """,
                prepared: true
            ).single(Bool.self)
            return Batch(steps: [], isHeldBack: waiting)
        }
        var checkpoint = start
        var steps: [Step] = []
        for row in rows {
            let event = try EventStore.rawEvent(row)
            let outOfOrder = try row.decode(Bool.self, at: 9)
            let horizon = try row.decode(PGTransactionID.self, at: 10).rawValue
            if checkpoint.deliveredAhead.contains(event.position) {
                // Handled early with its successor; now the cursor may pass it.
                checkpoint.deliveredAhead.remove(event.position)
                checkpoint.cursor = event.key
                steps.append(Step(event: nil, checkpoint: checkpoint))
                continue
            }
            if outOfOrder {
                let predecessors = try await undeliveredPredecessors(of: event, checkpoint: checkpoint, on: connection)
                guard predecessors.allSatisfy({ $0.transactionID < horizon }) else {
                    return Batch(steps: steps, isHeldBack: true)  // wait for the predecessor's transaction
                }
                for predecessor in predecessors {
                    checkpoint.deliveredAhead.insert(predecessor.position)
                    steps.append(Step(event: predecessor, checkpoint: checkpoint))
                }
            }
            checkpoint.cursor = event.key
            steps.append(Step(event: event, checkpoint: checkpoint))
        }
        return Batch(steps: steps, isHeldBack: false)
    }

    /// The earlier versions of `event`'s stream that sort after it and were not delivered yet,
    /// oldest first.
    private func undeliveredPredecessors(
        of event: RawRecordedEvent, checkpoint: Checkpoint, on connection: PGConnection
    ) async throws -> [RawRecordedEvent] {
        var found: [RawRecordedEvent] = []
        var below = event.version
        // Pages of the 64 versions stored below `below`, however sparse the versions are (they
        // come from the table: a gap must not mean one round trip per missing version).
        while true {
            let rows = try await connection.query(
                """
                SELECT \(unescaped: EventStore.eventColumns) FROM mire_events
                WHERE stream_id = \(event.stream.rawValue) AND stream_version < \(below)
                ORDER BY stream_version DESC LIMIT 64
                """,
                prepared: true
            )
            for row in rows {
                let candidate = try EventStore.rawEvent(row)
                if candidate.key < event.key || checkpoint.deliveredAhead.contains(candidate.position) {
                    return found.reversed()
                }
                found.append(candidate)
                below = candidate.version
            }
            if rows.count < 64 { return found.reversed() }
        }
    }
}
