import Foundation
public import Logging
@_spi(Internals) import MireCore
import MirePQ
public import MirePostgres
public import MireProjections
import MireTransactions
public import ServiceLifecycle
import Synchronization

/// Runs a process manager: delivers the log's events to it (a transactional projection named
/// after it: one lease across replicas, gap-safe reads, fenced checkpoints, retries) and fires
/// its due deadlines (a table polled under a lease of its own). A ServiceLifecycle `Service`.
///
/// Each reaction runs once: the commands' events, the process's state and the checkpoint commit
/// together, and a reaction run again after a crash before that commit produces the same event
/// ids. A deadline fires once: the event that delivers it (whose id is the deadline's) and the
/// mark that it fired commit together.
///
/// ```swift
/// let transfers = ProcessManagerRunner(
///     TransferSaga.self, store: store, configuration: .init(workerID: "api-1"), logger: logger)
/// let group = ServiceGroup(services: [store, transfers], logger: logger)
/// try await group.run()
/// ```
public final class ProcessManagerRunner<Manager: ProcessManager>: Service {
    /// Tunables.
    ///
    /// ```swift
    /// var configuration = ProcessManagerRunner<TransferSaga>.Configuration(workerID: "api-1")
    /// configuration.deadlinePollInterval = .milliseconds(200)
    /// ```
    public struct Configuration: Sendable {
        /// How events are delivered: the worker id, lease, batch size (events read at once),
        /// polling and retries of the projection that feeds the process manager. Each delivery
        /// runs one step (the events before it that the process manager ignores ride along), so
        /// the aggregates a step's commands lock stay locked for that step only. Its poison
        /// policy is not used: a process manager never skips an event (a skipped step would
        /// strand its process), it retries.
        public var delivery: ProjectionRunner.Configuration
        /// How often due deadlines are looked for.
        public var deadlinePollInterval: Duration
        /// Deadlines fired per transaction (at least 1).
        public var deadlineBatchSize: Int
        /// Partitions of the processes, delivered concurrently: each process belongs to one (by a
        /// stable hash of its id), whose deliveries keep its events in log order; each partition
        /// has its own checkpoint and lease. 1 (the default) delivers one event at a time; 4
        /// runs four deliveries at once (on one worker, or spread over replicas as their leases
        /// fall). Fixed for the life of a process manager: changing it starts the new partitions
        /// from the beginning of the log.
        public var partitions: Int

        /// Defaults, for worker `workerID`.
        public init(workerID: String) {
            delivery = ProjectionRunner.Configuration(workerID: workerID)
            delivery.batchSize = 100
            deadlinePollInterval = .seconds(1)
            deadlineBatchSize = 100
            partitions = 1
        }
    }

    /// The store whose log drives the process manager.
    public let store: EventStore
    /// Tunables.
    public let configuration: Configuration
    private let deliveries: ProjectionRunner
    private let leases: ProjectionLeases
    private let partitioningChecked = Atomic(false)
    private let logger: Logger

    /// A runner of `Manager` on `store`.
    public init(
        _ type: Manager.Type = Manager.self, store: EventStore, configuration: Configuration, logger: Logger
    ) {
        precondition(
            !Manager.name.isEmpty && !Manager.name.contains("-"),
            "a process manager's name is a stream category: non-empty, without '-'")
        var configuration = configuration
        configuration.deadlineBatchSize = max(1, configuration.deadlineBatchSize)
        configuration.delivery.poisonPolicy = .retryForever
        let partitions = max(1, configuration.partitions)
        configuration.partitions = partitions
        let projections = (0..<partitions).map { index in
            let delivery = ProcessDelivery<Manager>(store: store, partition: index, of: partitions)
            var projection = Projection.batched(
                name: Manager.projectionName(partition: index, of: partitions), category: nil,
                delivery: .transactional
            ) { events, connection in
                try await delivery.handle(events, on: connection)
            }
            projection.appendsEvents = true
            projection.relevance = { event in delivery.isRelevant(event) }
            return projection
        }
        self.store = store
        self.configuration = configuration
        deliveries = ProjectionRunner(
            store: store, projections: projections, configuration: configuration.delivery, logger: logger)
        leases = ProjectionLeases(pool: store.pool)
        var logger = logger
        logger[metadataKey: "mire.process_manager"] = "\(Manager.name)"
        self.logger = logger
    }

    /// Delivers events and fires deadlines until the task is cancelled or graceful shutdown
    /// begins. A failure no retry can fix (the schema is missing) ends it with that error.
    public func run() async throws {
        try await refuseOtherPartitioning()
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await self.deliveries.run() }
                    group.addTask { try await self.fireDeadlinesUnderLease() }
                    // Both run until cancelled; the first to end (an error) ends the other.
                    try await group.next()
                    group.cancelAll()
                }
            }
        } catch is CancellationError {
            return
        }
    }

    /// Fires the deadlines due now, then delivers every event that was in the log when the
    /// deadlines were fired (waiting for another worker's lease if needed), and returns.
    ///
    /// ```swift
    /// try await runner.runUntilCaughtUp()   // in a test, a command, a cron job
    /// ```
    public func runUntilCaughtUp() async throws {
        try await refuseOtherPartitioning()
        while try await fireDueDeadlines() == configuration.deadlineBatchSize {}
        try await deliveries.runUntilCaughtUp()
    }

    /// Refuses to run with a number of partitions other than the one this process manager ran
    /// with: the new partitions would start from the beginning of the log and react again to
    /// events whose reactions are stored (and stall on their ids, stored at other versions).
    private func refuseOtherPartitioning() async throws {
        // Checked once per runner: the stored checkpoints cannot change partitioning under it.
        guard !partitioningChecked.load(ordering: .relaxed) else { return }
        let ours = Set(
            (0..<configuration.partitions).map { Manager.projectionName(partition: $0, of: configuration.partitions) })
        let stored = try await store.pool.withConnection { connection in
            try await connection.query(
                """
                SELECT name FROM mire_subscriptions
                WHERE (name = \(Manager.projectionName) OR name LIKE \(Manager.projectionName + "#%"))
                  AND events_handled > 0
                """,
                prepared: true
            ).map { try $0.decode(String.self, at: 0) }
        }
        if let other = stored.first(where: { !ours.contains($0) }) {
            throw MireError(
                code: .invalidOperation,
                message: "process manager \(Manager.name) ran with other partitions (checkpoint \(other)); "
                    + "it is configured with \(configuration.partitions)",
                recovery: "run it with the partitions it ran with; the number is fixed for its life")
        }
        partitioningChecked.store(true, ordering: .relaxed)
    }

    /// Fires up to one batch of the deadlines due now: for each, in one transaction, appends
    /// the event that delivers it and marks it fired. Returns how many fired. Safe beside
    /// another worker doing the same (the rows are claimed with `SKIP LOCKED`; the event's id is
    /// the deadline's); ``run()`` calls it under a lease so that one replica polls.
    @discardableResult
    public func fireDueDeadlines() async throws -> Int {
        // Most polls find nothing due: one plain read, not a transaction, says so.
        let anyDue = try await store.pool.withConnection { connection in
            try await connection.query(
                """
                SELECT EXISTS (SELECT FROM mire_process_deadlines
                               WHERE process_manager = \(Manager.name) AND fired_at IS NULL AND cancelled_at IS NULL AND due_at <= now())
                """,
                prepared: true
            ).single(Bool.self)
        }
        guard anyDue else { return 0 }
        let options = TransactionOptions(retry: RetryPolicy(maximumAttempts: 3))
        var claimed = 0
        do {
            return try await claimAndFire(options) { claimed = $0 }
        } catch let error as MireError where error.code == .commitOutcomeUnknown && claimed == 0 {
            return 0  // the reply of a transaction that changed nothing was lost: nothing to settle
        }
    }

    /// One transaction of ``fireDueDeadlines()``; `claimed` hears how many deadlines it claimed.
    private func claimAndFire(_ options: TransactionOptions, claimed: (Int) -> Void) async throws -> Int {
        try await store.transaction(options) { transaction in
            let connection = try transaction.sqlConnection
            let due = try await connection.query(
                """
                SELECT deadline_id, process_id, name, correlation_id, causation_id FROM mire_process_deadlines
                WHERE process_manager = \(Manager.name) AND fired_at IS NULL AND cancelled_at IS NULL AND due_at <= now()
                ORDER BY due_at, deadline_id LIMIT \(Int64(max(1, configuration.deadlineBatchSize)))
                FOR UPDATE SKIP LOCKED
                """,
                prepared: true)
            var fired: [UUID] = []
            for row in due {
                let (deadlineID, processID, name) = try row.decode((UUID, String, String).self)
                let metadata = EventMetadata(
                    eventID: deadlineID, correlationID: try row.decode(UUID.self, at: 3),
                    causationID: try row.decode(UUID.self, at: 4))
                let event = NewEvent(
                    type: ProcessDeadline.eventType, payload: try encodeJSON(ProcessDeadline(name: name)),
                    metadata: metadata)
                try await transaction.append(
                    [event], to: try StreamID(category: Manager.deadlineCategory, id: processID), expecting: .any)
                fired.append(deadlineID)
            }
            claimed(fired.count)
            if !fired.isEmpty {
                try await connection.query(
                    "UPDATE mire_process_deadlines SET fired_at = now() WHERE deadline_id = ANY(\(fired))",
                    prepared: true)
            }
            return fired.count
        }
    }

    /// The state of process `processID` as last committed, or nil before its first event.
    ///
    /// ```swift
    /// let saga = try await runner.state(of: "transfer-42")
    /// ```
    public func state(of processID: String) async throws -> Manager? {
        try await store.pool.withConnection { connection in
            try await ProcessStates.find(Manager.self, processID: processID, on: connection)?.state
        }
    }

    /// Polls for due deadlines while holding their lease; waits for it otherwise.
    private func fireDeadlinesUnderLease() async throws {
        let delivery = configuration.delivery
        while true {
            try Task.checkCancellation()
            let grant: LeaseGrant?
            do {
                grant = try await leases.acquire(
                    Manager.deadlineLease, workerID: delivery.workerID, ttl: delivery.leaseTTL,
                    lockTimeout: delivery.leaseLockTimeout)
            } catch let error as CancellationError {
                throw error
            } catch {
                logger.debug("taking the deadline lease failed", metadata: ["error": "\(error)"])
                grant = nil
            }
            guard let grant else {
                try await Task.sleep(for: delivery.leaseRecheckInterval)
                continue
            }
            do {
                try await pollDeadlines(holding: grant)
            } catch {
                await releaseIgnoringCancellation(grant)
                if error is CancellationError { throw error }
                logger.debug("firing deadlines failed; retrying", metadata: ["error": "\(error)"])
                try await Task.sleep(for: configuration.deadlinePollInterval)
            }
        }
    }

    /// Fires due deadlines every poll interval (at once again after a full batch), renewing
    /// the lease; returns when the lease was lost.
    private func pollDeadlines(holding grant: LeaseGrant) async throws {
        let delivery = configuration.delivery
        var renewedAt = ContinuousClock.now
        while true {
            let fired = try await fireDueDeadlines()
            if ContinuousClock.now - renewedAt >= delivery.heartbeatInterval {
                renewedAt = .now
                guard try await leases.heartbeat(grant, ttl: delivery.leaseTTL) else {
                    logger.debug("the deadline lease was taken over")
                    return
                }
            }
            if fired < configuration.deadlineBatchSize { try await Task.sleep(for: configuration.deadlinePollInterval) }
        }
    }

    private func releaseIgnoringCancellation(_ grant: LeaseGrant) async {
        // A fresh task, awaited: the caller's cancellation must not cancel the release.
        _ = await Task { try? await leases.release(grant) }.value
    }
}
