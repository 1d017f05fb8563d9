import Foundation
public import MirePQ
public import MirePostgres

/// Every committed event after a checkpoint, as an `AsyncSequence`: first the events already
/// stored (catch-up), then each new one as it commits (live). Read like a projection reads the
/// log (``GapSafeReader``): an event that commits late is never skipped, a rolled-back one never
/// appears, and each stream's events come in version order.
///
/// The sequence is pulled: it reads the next batch only when the consumer has taken the last
/// one, so a slow consumer never makes it hold more than one batch: ``Configuration/batchSize``
/// events, plus the earlier versions of a stream delivered ahead with one of them.
/// When it has caught up, it waits for the store's wake-up notifications on a connection of its
/// own (at most ``Configuration/pollInterval`` at a time, then it looks anyway), and that
/// connection closes when the iteration ends.
///
/// It keeps its place in memory only: to continue after a restart, keep the ``Delivery/checkpoint``
/// of the last event handled and subscribe from it.
///
/// ```swift
/// let subscription = store.subscribe(
///     after: Checkpoint(), EventSubscription.Configuration(category: "account", eventTypes: ["account.withdrawn"]))
/// for try await delivery in subscription {
///     print(delivery.event.stream, delivery.event.version)
///     if delivery.event.version > 1_000 { break }
/// }
/// ```
public struct EventSubscription: AsyncSequence, Sendable {
    /// One delivered event, and the checkpoint that resumes after it.
    public struct Delivery: Sendable {
        /// The event.
        public var event: RawRecordedEvent
        /// Subscribing after this checkpoint delivers the events after this one.
        public var checkpoint: Checkpoint
    }

    /// Which events a subscription delivers, and how it waits for new ones.
    ///
    /// ```swift
    /// var configuration = EventSubscription.Configuration(category: "account")
    /// configuration.pollInterval = .seconds(1)
    /// ```
    public struct Configuration: Sendable {
        /// Only events of this category (`account` for streams `account-…`); nil for all.
        public var category: String?
        /// Only events of these stored type names (`account.deposited`); nil for all.
        public var eventTypes: Set<String>?
        /// Events read per batch, at least 1 (plus a stream's earlier versions delivered ahead
        /// with one of them): about the most the subscription holds at once.
        public var batchSize: Int
        /// The longest wait for a wake-up before looking at the log anyway (notifications are
        /// not guaranteed: the store may have none configured, or one may be lost with a
        /// connection), at least 1 ms. Also how long a cancelled consumer may wait for the
        /// sequence to end.
        public var pollInterval: Duration

        /// A configuration.
        ///
        /// ```swift
        /// let all = EventSubscription.Configuration()
        /// ```
        public init(
            category: String? = nil, eventTypes: Set<String>? = nil, batchSize: Int = 500,
            pollInterval: Duration = .milliseconds(250)
        ) {
            self.category = category
            self.eventTypes = eventTypes
            self.batchSize = batchSize
            self.pollInterval = pollInterval
        }
    }

    let store: EventStore
    let start: Checkpoint
    let configuration: Configuration

    /// An iterator that starts after the subscription's checkpoint.
    public func makeAsyncIterator() -> Iterator {
        Iterator(store: store, checkpoint: start, configuration: configuration)
    }

    /// Reads batches as they are asked for; see ``EventSubscription``.
    public struct Iterator: AsyncIteratorProtocol, Sendable {
        let store: EventStore
        let configuration: Configuration
        /// After the last event read (not necessarily delivered: filtered events move it too).
        var checkpoint: Checkpoint
        /// Read, not yet delivered.
        var pending: [Delivery] = []
        var nextPending = 0
        /// The connection listening for wake-ups; closed when the iterator goes.
        var listener: PGConnection?
        /// No new attempt to listen before this, after one failed.
        var nextListenAttempt = ContinuousClock.now
        /// The wait before reading again while events are held back (doubles up to the poll
        /// interval: a transaction left open somewhere can hold the horizon back for long).
        var heldBackDelay = Duration.milliseconds(5)
        /// Run before each read (a durable subscription renews its lease there); a throw ends
        /// the call before anything is read.
        let beforeRead: (@Sendable () async throws -> Void)?

        init(
            store: EventStore, checkpoint: Checkpoint, configuration: Configuration,
            beforeRead: (@Sendable () async throws -> Void)? = nil
        ) {
            self.store = store
            self.checkpoint = checkpoint
            self.configuration = configuration
            self.beforeRead = beforeRead
        }

        private var pollInterval: Duration { Swift.max(configuration.pollInterval, .milliseconds(1)) }

        /// The next event; nil once the task is cancelled.
        public mutating func next() async throws -> Delivery? {
            try await next(isolation: nil)
        }

        /// The next event, on the caller's executor: a consumer on an actor (the main actor of a
        /// program's top level, say) takes each buffered event without a hop to the global pool
        /// and back (that hop was 20 µs an event); nil once the task is cancelled.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> Delivery? {
            while !Task.isCancelled {
                if nextPending < pending.count {
                    defer { nextPending += 1 }
                    return pending[nextPending]
                }
                let batch: GapSafeReader.Batch
                do {
                    try await beforeRead?()
                    // Listening starts before the read: a commit after the read wakes the wait.
                    await listen()
                    batch = try await GapSafeReader(pool: store.pool).next(
                        after: checkpoint, category: configuration.category,
                        limit: Swift.max(1, configuration.batchSize))
                } catch  where Task.isCancelled {
                    return nil  // cancelled mid-read: the end of the sequence, as when waiting
                }
                checkpoint = batch.finalCheckpoint(from: checkpoint)
                pending = batch.steps.compactMap { step in
                    guard let event = step.event, configuration.eventTypes?.contains(event.type) ?? true else {
                        return nil
                    }
                    return Delivery(event: event, checkpoint: step.checkpoint)
                }
                nextPending = 0
                if !batch.steps.isEmpty {
                    heldBackDelay = .milliseconds(5)
                    continue
                }
                if batch.isHeldBack {
                    // Committed events wait for an older transaction to end: look again soon.
                    try? await Task.sleep(for: heldBackDelay)
                    heldBackDelay = Swift.min(heldBackDelay * 2, pollInterval)
                } else {
                    heldBackDelay = .milliseconds(5)
                    await waitForWakeUp()
                }
            }
            return nil
        }

        /// Opens the listening connection if the store sends wake-ups and none is open; on
        /// failure the subscription polls until a later attempt succeeds.
        private mutating func listen() async {
            guard listener == nil, let channel = store.configuration.wakeUpChannel,
                ContinuousClock.now >= nextListenAttempt
            else { return }
            do {
                let connection = try await PGConnection.connect(
                    configuration: store.pool.configuration, logger: store.logger)
                try await connection.query("LISTEN \(identifier: channel)")
                listener = connection
            } catch {
                // Poll meanwhile; try again in a second, not before every batch.
                nextListenAttempt = .now + .seconds(1)
                store.logger.debug(
                    "subscription polls: could not listen for wake-ups", metadata: ["error": "\(error)"])
            }
        }

        /// Waits for a wake-up, at most the poll interval.
        private mutating func waitForWakeUp() async {
            guard let listener else {
                try? await Task.sleep(for: pollInterval)
                return
            }
            do {
                _ = try await listener.waitForNotifications(timeout: pollInterval)
            } catch {
                // Lost: listen again next time (the read before the wait finds what it missed).
                await listener.close()
                self.listener = nil
            }
        }
    }
}

extension EventStore {
    /// The committed events after `checkpoint` (the start of the log by default), catch-up then
    /// live; see ``EventSubscription``.
    ///
    /// ```swift
    /// for try await delivery in store.subscribe(EventSubscription.Configuration(category: "account")) {
    ///     print(delivery.event.type)
    /// }
    /// ```
    public func subscribe(
        after checkpoint: Checkpoint = Checkpoint(),
        _ configuration: EventSubscription.Configuration = EventSubscription.Configuration()
    ) -> EventSubscription {
        EventSubscription(store: self, start: checkpoint, configuration: configuration)
    }
}
