import Foundation
public import MirePQ
public import MirePostgres
import Synchronization

/// A named subscription whose place is kept in the database: the events of an
/// ``EventSubscription``, delivered at least once across restarts and replicas. Its name shares
/// the projections' namespace (their checkpoint table and leases): give it one of its own.
///
/// Iterating first takes the subscription's lease (the same lease and fence token as a
/// projection's, under the subscription's name), so one replica consumes at a time; the others
/// wait in `next()` until the lease is free or runs out. Each ``Delivery`` is acknowledged by the
/// consumer once handled; an acknowledgement stores the checkpoint after that event (and every
/// event before it) with the fenced compare-and-set of a projection's checkpoint. A consumer that
/// stops, crashes or loses the lease resumes, in whichever replica takes over, after the last
/// acknowledged event: events delivered but not acknowledged come again.
///
/// The lease is renewed on each `next()` and before each read of the log, waiting for new events
/// included (at least every ``EventSubscription/Configuration/pollInterval``: keep it well under
/// a third of ``Configuration/leaseTTL``). A consumer that spends longer than `leaseTTL` on one
/// event may lose the lease, and its acknowledgement then throws ``MireError/Code/fenced``.
/// A lease left behind when the iteration ends runs out after `leaseTTL`, or is taken at once by
/// the same worker id.
///
/// ```swift
/// let subscription = store.durableSubscription("overdraft-emails", workerID: "web-1")
/// for try await delivery in subscription {
///     print("send an email about", delivery.event.stream)
///     try await delivery.acknowledge()
/// }
/// ```
public struct DurableSubscription: AsyncSequence, Sendable {
    /// Which events, and how the lease is kept.
    ///
    /// ```swift
    /// let configuration = DurableSubscription.Configuration(
    ///     events: EventSubscription.Configuration(category: "account"), leaseTTL: .seconds(10))
    /// ```
    public struct Configuration: Sendable {
        /// Which events are delivered, in batches of what size, polling how often.
        public var events: EventSubscription.Configuration
        /// How long the lease lasts without renewal.
        public var leaseTTL: Duration
        /// How often a waiting replica tries to take the lease.
        public var leaseRecheckInterval: Duration

        /// A configuration.
        ///
        /// ```swift
        /// let defaults = DurableSubscription.Configuration()
        /// ```
        public init(
            events: EventSubscription.Configuration = EventSubscription.Configuration(),
            leaseTTL: Duration = .seconds(30), leaseRecheckInterval: Duration = .seconds(1)
        ) {
            self.events = events
            self.leaseTTL = leaseTTL
            self.leaseRecheckInterval = leaseRecheckInterval
        }
    }

    /// One delivered event; acknowledge it once handled.
    public struct Delivery: Sendable {
        /// The event.
        public let event: RawRecordedEvent
        /// The checkpoint an acknowledgement stores.
        public let checkpoint: Checkpoint
        let sequence: Int
        let acknowledgements: Acknowledgements

        /// Stores that this event, and every event delivered before it, is handled: after a
        /// restart or a takeover, delivery resumes after it. Acknowledging an earlier delivery
        /// after a later one does nothing.
        ///
        /// - Throws: ``MireError`` `fenced` when another replica holds the lease now (stop: it
        ///   delivers from the last stored checkpoint).
        ///
        /// ```swift
        /// try await delivery.acknowledge()
        /// ```
        public func acknowledge() async throws {
            try await acknowledgements.acknowledge(sequence, checkpoint)
        }
    }

    let store: EventStore
    let name: String
    let workerID: String
    let configuration: Configuration

    /// An iterator that delivers after the stored checkpoint once it holds the lease.
    public func makeAsyncIterator() -> Iterator {
        Iterator(
            subscription: self,
            acknowledgements: Acknowledgements(
                store: store, name: name, workerID: workerID, ttl: configuration.leaseTTL))
    }

    /// Takes the lease, then reads like an ``EventSubscription`` after the stored checkpoint.
    public struct Iterator: AsyncIteratorProtocol, Sendable {
        let subscription: DurableSubscription
        let acknowledgements: Acknowledgements
        var events: EventSubscription.Iterator?
        var delivered = 0

        /// The next event; nil once the task is cancelled.
        public mutating func next() async throws -> Delivery? {
            try await next(isolation: nil)
        }

        /// The next event, on the caller's executor (see ``EventSubscription/Iterator``); nil once
        /// the task is cancelled.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> Delivery? {
            do {
                if events == nil {
                    guard
                        let start = try await acknowledgements.acquire(
                            recheckingEvery: subscription.configuration.leaseRecheckInterval)
                    else { return nil }
                    // The lease is renewed before every read, waiting included (every poll
                    // interval at most), and never after one: a renewal that fails must not cost
                    // an event already read.
                    // Waits stay well under the lease, whatever the poll interval asked for.
                    var configuration = subscription.configuration.events
                    configuration.pollInterval = Swift.min(
                        configuration.pollInterval, subscription.configuration.leaseTTL / 6)
                    events = EventSubscription.Iterator(
                        store: subscription.store, checkpoint: start, configuration: configuration,
                        beforeRead: { [acknowledgements] in try await acknowledgements.renewIfDue() })
                }
                // Also before each delivery from the batch in hand (a throw here costs nothing).
                try await acknowledgements.renewIfDue()
                guard let next = try await events?.next(isolation: actor) else { return nil }
                delivered += 1
                return Delivery(
                    event: next.event, checkpoint: next.checkpoint, sequence: delivered,
                    acknowledgements: acknowledgements)
            } catch  where Task.isCancelled {
                return nil
            }
        }
    }
}

/// The lease and stored checkpoint of one iteration of a durable subscription.
final class Acknowledgements: Sendable {
    private struct State {
        var grant: LeaseGrant?
        var stored = Checkpoint()
        /// The highest delivery acknowledged (0: none).
        var acknowledged = 0
        /// When the lease was last taken or renewed (acknowledgements do not renew it).
        var renewed = ContinuousClock.now
        /// Acknowledgements whose reply was lost: they may have been stored.
        var unknown: [(sequence: Int, checkpoint: Checkpoint)] = []
        /// Whether an acknowledgement is being written.
        var writing = false
    }

    private let state = Mutex(State())
    let store: EventStore
    let name: String
    let workerID: String
    let ttl: Duration

    init(store: EventStore, name: String, workerID: String, ttl: Duration) {
        self.store = store
        self.name = name
        self.workerID = workerID
        self.ttl = ttl
    }

    private var leases: ProjectionLeases { ProjectionLeases(pool: store.pool) }

    /// Waits for the lease; returns the stored checkpoint, or nil when cancelled first.
    func acquire(recheckingEvery interval: Duration) async throws -> Checkpoint? {
        while !Task.isCancelled {
            let asked = ContinuousClock.now
            if let grant = try await leases.acquire(name, workerID: workerID, ttl: ttl) {
                let stored = try await leases.checkpoint(of: name)
                state.withLock { $0 = State(grant: grant, stored: stored, renewed: asked) }
                return stored
            }
            try? await Task.sleep(for: interval)
        }
        return nil
    }

    /// Renews the lease once a third of its time has passed; throws `fenced` when it was taken.
    func renewIfDue() async throws {
        let (grant, renewed) = state.withLock { ($0.grant, $0.renewed) }
        guard let grant, ContinuousClock.now - renewed >= ttl / 3 else { return }
        let sent = ContinuousClock.now  // the lease runs from when the renewal was asked for
        guard try await leases.heartbeat(grant, ttl: ttl) else { throw fenced() }
        state.withLock { $0.renewed = sent }
    }

    /// Stores `checkpoint` as delivery `sequence`'s, unless a later one is stored already.
    func acknowledge(_ sequence: Int, _ checkpoint: Checkpoint) async throws {
        // One at a time: each compares and sets from the checkpoint the one before stored.
        let busy = state.withLock { state in
            defer { state.writing = true }
            return state.writing
        }
        guard !busy else {
            throw MireError(
                code: .invalidOperation, message: "subscription \(name): two acknowledgements at once",
                recovery: "acknowledge deliveries one after another (a later one covers the earlier ones)")
        }
        defer { state.withLock { $0.writing = false } }
        let (grant, stored, acknowledged) = state.withLock { ($0.grant, $0.stored, $0.acknowledged) }
        guard let grant else {
            throw MireError(
                code: .invalidOperation,
                message: "subscription \(name) acknowledged an event without holding its lease",
                recovery: "acknowledge deliveries of the iteration that produced them")
        }
        guard sequence > acknowledged else { return }
        var previous = (sequence: acknowledged, checkpoint: stored)
        // Two rounds at most: the second after adopting an acknowledgement whose reply was lost.
        for _ in 0..<2 {
            let outcome: ProjectionLeases.CheckpointOutcome
            do {
                outcome = try await store.pool.withConnection { connection in
                    try await leases.checkpoint(
                        grant, from: previous.checkpoint, to: checkpoint, handled: sequence - previous.sequence,
                        on: connection)
                }
            } catch {
                state.withLock { state in
                    state.unknown.removeAll { $0.sequence == sequence }  // one entry per delivery
                    state.unknown.append((sequence, checkpoint))
                }
                throw error
            }
            switch outcome {
            case .written:
                adopt(sequence, checkpoint)
                return
            case .fenced:
                throw fenced()
            case .moved:
                // What is stored is not what this iteration last knew: an acknowledgement whose
                // reply was lost was stored after all. Adopt it; stop if it covers this one.
                let current = try await leases.checkpoint(of: name)
                let lost = state.withLock { state in state.unknown.last { $0.checkpoint == current } }
                guard let lost else {
                    throw MireError(
                        code: .fenced,
                        message: "subscription \(name): its stored checkpoint changed under a lease this replica holds",
                        recovery:
                            "stop consuming here; check that no other process writes this subscription's checkpoint")
                }
                adopt(lost.sequence, lost.checkpoint)
                if lost.sequence >= sequence { return }
                previous = lost
            }
        }
        throw MireError(
            code: .invalidOperation, message: "subscription \(name): the acknowledgement could not be stored",
            recovery: "acknowledge again")
    }

    /// Records delivery `sequence` as the stored one.
    private func adopt(_ sequence: Int, _ checkpoint: Checkpoint) {
        state.withLock { state in
            state.stored = checkpoint
            state.acknowledged = sequence
            state.unknown.removeAll { $0.sequence <= sequence }
        }
    }

    private func fenced() -> MireError {
        MireError(
            code: .fenced, message: "subscription \(name): another replica holds the lease now",
            recovery: "stop consuming here; the replica holding the lease delivers from the last acknowledged event")
    }
}

extension EventStore {
    /// The durable subscription `name`, consumed by `workerID`; see ``DurableSubscription``.
    ///
    /// ```swift
    /// for try await delivery in store.durableSubscription("audit", workerID: "worker-1") {
    ///     try await delivery.acknowledge()
    /// }
    /// ```
    public func durableSubscription(
        _ name: String, workerID: String,
        _ configuration: DurableSubscription.Configuration = DurableSubscription.Configuration()
    ) -> DurableSubscription {
        DurableSubscription(store: self, name: name, workerID: workerID, configuration: configuration)
    }
}
