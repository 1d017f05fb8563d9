import Foundation
public import Logging
@_spi(Internals) import MireCore
import MirePQ
public import MirePostgres
import MireProjections
public import ServiceLifecycle

/// Delivers the outbox's messages at least once: claims due messages (several workers and
/// replicas share the work: claims skip rows another holds), hands each to the deliverer, and
/// records the outcome: delivered; or failed, to be tried again after a growing backoff; or,
/// after the last attempt (or an ``UndeliverableMessage``), dead.
///
/// A claim lasts ``Configuration/claimTTL``: a worker that stops or freezes mid-delivery loses
/// its messages to another worker when it runs out, and an outcome it records after that is
/// ignored. So a message can be delivered more than once; receivers deduplicate by
/// ``OutboxMessage/key``.
///
/// ```swift
/// let notifier = OutboxWorker(store: store, configuration: .init(workerID: "api-1"), logger: logger) { delivery in
///     try await alerts.post(delivery.message.payload, idempotencyKey: delivery.message.key)
/// }
/// let group = ServiceGroup(services: [store, notifier], logger: logger)
/// ```
public final class OutboxWorker: Service {
    /// Tunables.
    ///
    /// ```swift
    /// var configuration = OutboxWorker.Configuration(workerID: "api-1")
    /// configuration.topics = ["large-withdrawal"]
    /// configuration.retry = RetryPolicy(maximumAttempts: 5, baseDelay: .seconds(1), maximumDelay: .seconds(60))
    /// ```
    public struct Configuration: Sendable {
        /// Names this worker in logs.
        public var workerID: String
        /// The topics this worker delivers; nil for all.
        public var topics: [String]?
        /// Messages claimed at once (delivered one after another).
        public var batchSize: Int
        /// How often to look for due messages when the last look found none.
        public var pollInterval: Duration
        /// How long a claim lasts: longer than one delivery takes, or messages are delivered twice
        /// (it is renewed before each message of a batch).
        public var claimTTL: Duration
        /// Attempts per message before it is dead, and the backoff between them (the one retry
        /// policy; every delivery failure counts, whatever its kind).
        public var retry: RetryPolicy

        /// Defaults: 20 per claim, 500 ms polls, 60 s claims, 10 attempts 1 s doubling to 5 min.
        public init(workerID: String) {
            self.workerID = workerID
            topics = nil
            batchSize = 20
            pollInterval = .milliseconds(500)
            claimTTL = .seconds(60)
            retry = RetryPolicy(maximumAttempts: 10, baseDelay: .seconds(1), maximumDelay: .seconds(300))
        }
    }

    /// The store whose database holds the outbox.
    public let store: EventStore
    /// Tunables.
    public let configuration: Configuration
    private let deliver: @Sendable (OutboxDelivery) async throws -> Void
    private let logger: Logger

    /// A worker that hands each message to `deliver`; it returns once the receiver has the
    /// message, and throws otherwise.
    public init(
        store: EventStore, configuration: Configuration, logger: Logger,
        deliver: @escaping @Sendable (OutboxDelivery) async throws -> Void
    ) {
        self.store = store
        self.configuration = configuration
        self.deliver = deliver
        var logger = logger
        logger[metadataKey: "mire.worker"] = "\(configuration.workerID)"
        self.logger = logger
    }

    /// Delivers until the task is cancelled or graceful shutdown begins (a delivery under way
    /// is let finish and its outcome recorded). Database failures are retried after a poll
    /// interval.
    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let delivered: Int
            do {
                delivered = try await deliverDue()
            } catch  where ProjectionRunner.isFatal(error) {
                throw error  // e.g. the outbox's table is missing (migrations not run): no retry fixes it
            } catch {
                logger.debug("delivering the outbox failed; retrying", metadata: ["error": "\(error)"])
                delivered = 0
            }
            if delivered < configuration.batchSize {
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.configuration.pollInterval) }
                } catch {
                    return
                }
            }
        }
    }

    /// Claims up to one batch of due messages, delivers them one by one and records each
    /// outcome. Returns how many were claimed.
    @discardableResult
    public func deliverDue() async throws -> Int {
        let claim = UUID()
        let claimed = try await store.pool.withConnection { connection in
            try await connection.query(
                """
                UPDATE mire_outbox SET claimed_until = clock_timestamp() + \(configuration.claimTTL.wholeMilliseconds) * interval '1 millisecond',
                    claim_id = \(claim), attempts = attempts + 1
                WHERE id IN (
                    SELECT id FROM mire_outbox
                    WHERE status = 'pending' AND next_attempt_at <= clock_timestamp()
                      AND (claimed_until IS NULL OR claimed_until < clock_timestamp())
                      AND (\(configuration.topics == nil) OR topic = ANY(\(configuration.topics ?? [])))
                    ORDER BY next_attempt_at, id LIMIT \(Int64(max(1, configuration.batchSize)))
                    FOR UPDATE SKIP LOCKED)
                RETURNING id, topic, dedup_key, payload, attempts
                """,
                prepared: true
            ).map { row in
                let (id, topic, key, payload, attempts) = try row.decode((Int64, String, String, PGJSONB, Int32).self)
                return OutboxDelivery(
                    message: OutboxMessage(topic: topic, key: key, payload: payload.utf8), attempt: Int(attempts),
                    id: id)
            }
        }
        let ordered = claimed.sorted(by: { $0.id < $1.id })
        for (index, delivery) in ordered.enumerated() {
            if Task.isCancelled || Task.isShuttingDownGracefully {
                // Stopping: give the rest back at once rather than let their claims run out.
                await release(ordered[index...].map(\.id), claim: claim)
                break
            }
            // The claim was taken for the whole batch: renew it for this message, and skip the
            // message if it ran out meanwhile (another worker has it now).
            guard try await renew(delivery, claim: claim) else { continue }
            let failure: (any Error)?
            do {
                try await deliver(delivery)
                failure = nil
            } catch {
                failure = error
            }
            do {
                try await record(delivery, claim: claim, failure: failure)
            } catch {
                // The claim runs out and another attempt delivers it again: at least once.
                logger.debug(
                    "recording an outbox delivery failed",
                    metadata: ["key": "\(delivery.message.key)", "error": "\(error)"])
            }
        }
        return claimed.count
    }

    /// Extends `claim` on `delivery` by a claim's time; false when the claim is no longer held.
    private func renew(_ delivery: OutboxDelivery, claim: UUID) async throws -> Bool {
        try await store.pool.withConnection { connection in
            try await connection.query(
                """
                UPDATE mire_outbox
                SET claimed_until = clock_timestamp() + \(configuration.claimTTL.wholeMilliseconds) * interval '1 millisecond'
                WHERE id = \(delivery.id) AND claim_id = \(claim)
                """,
                prepared: true
            ).affectedRows == 1
        }
    }

    /// Gives messages `ids` of `claim` back, undelivered and their attempt uncounted.
    private func release(_ ids: [Int64], claim: UUID) async {
        // A fresh task, awaited: the caller's cancellation must not cancel the release.
        _ = await Task {
            try? await store.pool.withConnection { connection in
                try await connection.query(
                    """
                    UPDATE mire_outbox SET claimed_until = NULL, claim_id = NULL, attempts = attempts - 1
                    WHERE id = ANY(\(ids)) AND claim_id = \(claim)
                    """)
            }
        }.value
    }

    /// Records the outcome of `delivery`, if `claim` still holds it.
    private func record(_ delivery: OutboxDelivery, claim: UUID, failure: (any Error)?) async throws {
        let statement: PGQuery
        if let failure {
            let undeliverable = failure is UndeliverableMessage
            let dead = undeliverable || delivery.attempt >= configuration.retry.maximumAttempts
            let backoff = configuration.retry.delay(beforeAttempt: delivery.attempt + 1).wholeMilliseconds
            let reason = String(describing: failure)
            logger.debug(
                dead ? "an outbox message is dead" : "an outbox delivery failed; it will be retried",
                metadata: ["key": "\(delivery.message.key)", "attempt": "\(delivery.attempt)", "error": "\(reason)"])
            statement = """
                UPDATE mire_outbox SET status = CASE WHEN \(dead) THEN 'dead' ELSE 'pending' END,
                    next_attempt_at = clock_timestamp() + \(backoff) * interval '1 millisecond',
                    last_error = \(reason), claimed_until = NULL, claim_id = NULL
                WHERE id = \(delivery.id) AND claim_id = \(claim)
                """
        } else {
            statement = """
                UPDATE mire_outbox SET status = 'delivered', delivered_at = clock_timestamp(), last_error = NULL,
                    claimed_until = NULL, claim_id = NULL
                WHERE id = \(delivery.id) AND claim_id = \(claim)
                """
        }
        let updated = try await store.pool.withConnection { connection in
            try await connection.query(statement, prepared: true).affectedRows
        }
        if updated == 0 {
            logger.debug(
                "an outbox claim had run out; another worker owns the message now",
                metadata: ["key": "\(delivery.message.key)"])
        }
    }
}
