public import Foundation
import MirePQ
public import MirePostgres
public import MireTransactions

/// The outbox's table, seen from outside a worker: enqueuing in a transaction, counts, dead
/// letters.
///
/// ```swift
/// let outbox = Outbox(store: store)
/// print(try await outbox.counts())        // pending 3, delivered 120, dead 1
/// try await outbox.requeueDeadLetters()   // after fixing the receiver
/// ```
public struct Outbox: Sendable {
    /// How many messages are in each state.
    public struct Counts: Sendable, Hashable, CustomStringConvertible {
        /// Waiting for delivery, or being delivered.
        public var pending: Int64
        /// Delivered (the receiver acknowledged them).
        public var delivered: Int64
        /// Given up on: failed on every attempt, or undeliverable.
        public var dead: Int64

        /// Counts, as given.
        public init(pending: Int64, delivered: Int64, dead: Int64) {
            (self.pending, self.delivered, self.dead) = (pending, delivered, dead)
        }

        public var description: String { "pending \(pending), delivered \(delivered), dead \(dead)" }
    }

    /// A message given up on.
    public struct DeadLetter: Sendable, Hashable {
        /// The message.
        public var message: OutboxMessage
        /// Attempts made.
        public var attempts: Int
        /// The last failure.
        public var lastError: String?
    }

    /// The store whose database holds the outbox.
    public let store: EventStore

    /// The outbox of `store`'s database.
    public init(store: EventStore) { self.store = store }

    /// Writes `message` on `connection`, in the transaction open there; a message with the same
    /// key already in the outbox is kept instead (enqueuing is idempotent).
    static func enqueue(_ message: OutboxMessage, on connection: PGConnection) async throws {
        try await connection.query(
            """
            INSERT INTO mire_outbox (topic, dedup_key, payload)
            VALUES (\(message.topic), \(message.key), \(PGJSONB(utf8: message.payload)))
            ON CONFLICT (dedup_key) DO NOTHING
            """,
            prepared: true)
    }

    /// How many messages are pending, delivered and dead.
    public func counts() async throws -> Counts {
        try await store.pool.withConnection { connection in
            let row = try await connection.query(
                """
                SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'delivered'),
                       count(*) FILTER (WHERE status = 'dead')
                FROM mire_outbox
                """
            ).first
            guard let row else { return Counts(pending: 0, delivered: 0, dead: 0) }
            let (pending, delivered, dead) = try row.decode((Int64, Int64, Int64).self)
            return Counts(pending: pending, delivered: delivered, dead: dead)
        }
    }

    /// Up to `limit` dead letters, oldest first.
    public func deadLetters(limit: Int = 100) async throws -> [DeadLetter] {
        try await store.pool.withConnection { connection in
            try await connection.query(
                """
                SELECT topic, dedup_key, payload, attempts, last_error FROM mire_outbox
                WHERE status = 'dead' ORDER BY id LIMIT \(Int64(max(0, limit)))
                """
            ).map { row in
                let (topic, key, payload, attempts, lastError) = try row.decode(
                    (String, String, PGJSONB, Int32, String?).self)
                return DeadLetter(
                    message: OutboxMessage(topic: topic, key: key, payload: payload.utf8), attempts: Int(attempts),
                    lastError: lastError)
            }
        }
    }

    /// Makes every dead letter pending again, due now, with its attempts counted from zero (once
    /// the receiver is fixed). Returns how many.
    @discardableResult
    public func requeueDeadLetters() async throws -> Int {
        try await store.pool.withConnection { connection in
            try await connection.query(
                """
                UPDATE mire_outbox SET status = 'pending', attempts = 0, next_attempt_at = now(),
                    claimed_until = NULL, claim_id = NULL
                WHERE status = 'dead'
                """
            ).affectedRows
        }
    }
}

extension EventTransaction {
    /// Writes `message` to the outbox in this transaction: it is delivered (at least once) if and
    /// only if the transaction commits. A message with the same key already in the outbox is
    /// kept instead.
    ///
    /// ```swift
    /// try await store.transaction { tx in
    ///     try await tx.save(&account)
    ///     try await tx.enqueue(try OutboxMessage(topic: "welcome", key: "welcome-\(account.entityID)", json: mail))
    /// }
    /// ```
    public func enqueue(_ message: OutboxMessage) async throws {
        try await Outbox.enqueue(message, on: try sqlConnection)
    }
}
