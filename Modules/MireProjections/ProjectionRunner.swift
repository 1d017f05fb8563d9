import Foundation
public import Logging
import Metrics
import MirePQ
public import MirePostgres
public import ServiceLifecycle
import Synchronization
import Tracing

/// Runs projections: one lease per projection, so across replicas exactly one worker drives each;
/// gap-safe reading; fenced checkpoints; retry with backoff; wake-ups by LISTEN/NOTIFY with a
/// polling fallback. A ServiceLifecycle `Service`: `run()` until cancelled or graceful shutdown,
/// which releases the leases so another worker can take over at once.
///
/// ```swift
/// let runner = ProjectionRunner(
///     store: store, projections: [balances], configuration: .init(workerID: "api-1"), logger: logger)
/// let group = ServiceGroup(services: [runner], logger: logger)
/// try await group.run()
/// ```
public final class ProjectionRunner: Service {
    /// The store whose log is projected.
    public let store: EventStore
    /// The projections this runner drives.
    public let projections: [Projection]
    /// Tunables.
    public let configuration: Configuration
    /// The lease protocol.
    public let leases: ProjectionLeases
    let reader: GapSafeReader
    let logger: Logger
    let wake = WakeSignal()
    private let listenerSessions = Mutex(0)
    private let notificationsReceived = Mutex(0)

    /// Wake-up internals, for diagnosing tests: signals, listener sessions, notifications.
    package var wakeDiagnostics: String {
        "signals \(wake.generation), listener sessions \(listenerSessions.withLock { $0 }), notifications \(notificationsReceived.withLock { $0 })"
    }

    /// A runner for `projections` on `store`.
    public init(store: EventStore, projections: [Projection], configuration: Configuration, logger: Logger) {
        precondition(Set(projections.map(\.name)).count == projections.count, "projection names must be unique")
        self.store = store
        self.projections = projections
        self.configuration = configuration
        self.leases = ProjectionLeases(pool: store.pool)
        self.reader = GapSafeReader(pool: store.pool)
        var logger = logger
        logger[metadataKey: "mire.worker"] = "\(configuration.workerID)"
        self.logger = logger
    }

    /// Drives every projection until the task is cancelled or graceful shutdown begins.
    ///
    /// Failures a retry can fix (a lost connection, a deadlock, a failing handler) are retried
    /// with backoff. One that no retry can fix — the schema is missing (migrations not run),
    /// privileges are lacking, a statement is invalid — ends `run()` with that error, so its
    /// `ServiceGroup` learns of it.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await self.runAll(until: nil)
            }
        } catch is CancellationError {
            return  // graceful shutdown or cancellation: leases were released
        }
    }

    /// Positions behind the newest, never negative; positions come from the server, so the
    /// difference saturates instead of overflowing.
    static func lag(newest: Int64, checkpoint: Int64) -> Int64 {
        let (difference, overflow) = newest.subtractingReportingOverflow(checkpoint)
        return overflow ? (checkpoint < 0 ? .max : 0) : max(0, difference)
    }

    /// Whether no retry can fix `error`: a checkpoint from another cluster, SQLSTATE class 42 (an undefined table or column, a
    /// missing privilege, a syntax error) or 3F (no such schema). A refused login is not among
    /// them: libpq reports it as a failed connection, without a SQLSTATE, and it is retried
    /// like an unreachable server (credentials may be rotated while the runner waits).
    package static func isFatal(_ error: any Error) -> Bool {
        if (error as? MireError)?.code == .foreignCheckpoint { return true }
        guard
            let sqlState = (error as? PGError)?.sqlState
                ?? ((error as? MireError)?.underlying as? PGError)?.sqlState
        else { return false }
        return ["42", "3F"].contains(String(sqlState.prefix(2)))
    }

    /// Drives every projection until it has handled every event that was in the log when this
    /// call began (waiting for another worker's lease if needed), then releases and returns.
    public func runUntilCaughtUp() async throws {
        try await runAll(until: .logHead)
    }

    enum Stop: Sendable { case logHead }

    private func runAll(until stop: Stop?) async throws {
        // Children report whether they were the projections (true) or the listener (false),
        // which serves them: once the projections are done, the listener is cancelled.
        try await withThrowingTaskGroup(of: Bool.self) { group in
            if let channel = configuration.wakeUpChannel {
                group.addTask {
                    await self.listen(on: channel)
                    return false
                }
            }
            group.addTask {
                try await withThrowingTaskGroup(of: Void.self) { drives in
                    for projection in self.projections {
                        drives.addTask { try await self.drive(projection, until: stop) }
                    }
                    try await drives.waitForAll()
                }
                return true
            }
            while let projectionsDone = try await group.next() {
                if projectionsDone { break }
            }
            group.cancelAll()
        }
    }

    /// Forwards notifications to the wake signal; reconnects on loss (a PGListener).
    private func listen(on channel: String) async {
        // Each time the listener is (re)connected, look at the log: a notification sent while it
        // was not listening is lost, the events are not.
        let listener = PGListener(
            configuration: store.pool.configuration, channels: [channel], logger: logger,
            onListening: { [self] in
                listenerSessions.withLock { $0 += 1 }
                wake.signal()
            })
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await listener.run() }
            group.addTask {
                for await _ in listener.notifications {
                    self.notificationsReceived.withLock { $0 += 1 }
                    self.wake.signal()
                }
            }
        }
    }

    // MARK: One projection

    struct Fenced: Error {}
    /// The stored checkpoint is not the one this worker started the delivery from: an earlier
    /// delivery committed although its reply was lost. Reload and go on.
    struct CheckpointMoved: Error {}

    private func drive(_ projection: Projection, until stop: Stop?) async throws {
        let head = stop == nil ? nil : try await logHead(category: projection.category)
        if stop != nil && head == nil { return }  // nothing in the log: caught up already
        var failures = 0
        while !Task.isCancelled {
            let grant: LeaseGrant
            do {
                guard
                    let acquired = try await leases.acquire(
                        projection.name, workerID: configuration.workerID, ttl: configuration.leaseTTL,
                        lockTimeout: configuration.leaseLockTimeout)
                else {
                    try await Task.sleep(for: configuration.leaseRecheckInterval.atMostADay)
                    continue
                }
                grant = acquired
                failures = 0
            } catch is CancellationError {
                return
            } catch  where Self.isFatal(error) {
                throw error
            } catch {
                logger.debug(
                    "could not take the lease", metadata: ["projection": "\(projection.name)", "error": "\(error)"])
                failures += 1
                EventStore.countRetry("projection")
                try? await Task.sleep(for: configuration.retry.delay(beforeAttempt: failures + 1))
                continue
            }
            Counter(label: "mire_projection_lease_acquired", dimensions: [("projection", projection.name)]).increment()
            logger.debug("lease taken", metadata: ["projection": "\(projection.name)", "token": "\(grant.fenceToken)"])
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await self.heartbeat(grant) }
                    group.addTask { try await self.process(projection, grant: grant, head: head) }
                    try await group.next()
                    group.cancelAll()
                }
                await releaseIgnoringCancellation(grant)
                return  // caught up (only `process` returns normally)
            } catch is Fenced {
                logger.debug("fenced: another worker took the lease", metadata: ["projection": "\(projection.name)"])
                Counter(label: "mire_projection_fenced", dimensions: [("projection", projection.name)]).increment()
            } catch is CancellationError {
                await releaseIgnoringCancellation(grant)
                return
            } catch  where Self.isFatal(error) {
                await releaseIgnoringCancellation(grant)
                throw error
            } catch {
                if Task.isCancelled {
                    await releaseIgnoringCancellation(grant)
                    return
                }
                logger.debug(
                    "projection loop failed; retaking the lease",
                    metadata: ["projection": "\(projection.name)", "error": "\(error)"])
                failures += 1
                EventStore.countRetry("projection")
                try? await Task.sleep(for: configuration.retry.delay(beforeAttempt: failures + 1))
            }
        }
    }

    private func releaseIgnoringCancellation(_ grant: LeaseGrant) async {
        // A fresh task: the caller's cancellation must not cancel the release.
        let released = await Task { (try? await leases.release(grant)) != nil }.value
        logger.debug(
            released ? "lease released" : "lease not released (it expires by itself)",
            metadata: ["projection": "\(grant.projection)", "token": "\(grant.fenceToken)"])
    }

    /// Renews the lease until cancelled; throws `Fenced` as soon as a renewal changes nothing.
    private func heartbeat(_ grant: LeaseGrant) async throws {
        while true {
            try await Task.sleep(for: configuration.heartbeatInterval.atMostADay)
            let renewed: Bool
            do {
                renewed = try await leases.heartbeat(grant, ttl: configuration.leaseTTL)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                continue  // transient: the lease lasts a TTL; try again
            }
            if !renewed { throw Fenced() }
        }
    }

    /// Reads and delivers batches; returns when `head` (if any) has been handled.
    ///
    /// After a failed delivery the checkpoint is read again from the database (the delivery may
    /// have committed although its reply was lost), and the runner goes one event at a time
    /// until it is past every event of the failed batch: a failing event deep in a batch costs
    /// one extra pass over the events before it, not one batch per event.
    private func process(_ projection: Projection, grant: LeaseGrant, head: Checkpoint.Key?) async throws {
        var checkpoint = try await leases.checkpoint(of: projection.name)
        var failures = 0  // consecutive failed deliveries, for the backoff
        var handlerFailuresInARow = 0  // of them, the handler's own (not the database's): the poison count
        var moves = 0  // consecutive "checkpoint moved" reloads, for a backoff
        var stepUntil: Checkpoint.Key?
        let dimensions = [("projection", projection.name)]
        let handled = Counter(label: "mire_projection_events_handled", dimensions: dimensions)
        let handlerFailures = Counter(label: "mire_projection_handler_failures", dimensions: dimensions)
        let position = Gauge(label: "mire_projection_checkpoint_position", dimensions: dimensions)
        // The lag costs a query: measure it at most once a second, not once per batch.
        var lagMeasuredAt: ContinuousClock.Instant?
        func measureLag() async {
            if let last = lagMeasuredAt, ContinuousClock.now - last < .seconds(1) { return }
            lagMeasuredAt = .now
            await recordLag(of: projection, at: checkpoint)
        }
        while true {
            try Task.checkCancellation()
            let signalsSeen = wake.generation
            // While stepping past a failure, read one row at a time too: a full batch read (with
            // its out-of-order predecessors) per delivered event would make stepping crawl.
            let batch = try await reader.next(
                after: checkpoint, category: projection.category,
                limit: stepUntil == nil ? max(1, configuration.batchSize) : 1)
            if batch.steps.isEmpty {
                if !batch.isHeldBack { await measureLag() }
                if let head, checkpoint.hasHandled(head) { return }
                await wake.wait(
                    after: signalsSeen,
                    timeout: batch.isHeldBack
                        ? min(configuration.pollInterval, .milliseconds(100)) : configuration.pollInterval)
                continue
            }
            var steps = batch.steps
            if stepUntil != nil, let first = steps.firstIndex(where: { $0.event != nil }) {
                steps = Array(steps[...first])
            }
            if let isRelevant = projection.relevance,
                let first = steps.firstIndex(where: { step in step.event.map(isRelevant) ?? false })
            {
                steps = Array(steps[...first])  // one relevant event per delivery; the others ride along
            }
            guard let target = steps.last?.checkpoint else { continue }
            let previous = checkpoint
            do {
                try await deliver(steps, of: projection, grant: grant, from: previous)
                if projection.appendsEvents { store.didCommitEvents() }
                checkpoint = target
                handled.increment(by: steps.filter { $0.event != nil }.count)
                position.record(checkpoint.cursor.position)
                await measureLag()
                failures = 0
                handlerFailuresInARow = 0
                moves = 0
                if let until = stepUntil, until <= checkpoint.cursor { stepUntil = nil }
                if let head, checkpoint.hasHandled(head) { return }  // caught up, even under steady writes
            } catch is Fenced {
                throw Fenced()
            } catch is CancellationError {
                throw CancellationError()
            } catch  where Self.isFatal(error) {
                throw error  // e.g. the read model's table is missing: not the event's fault
            } catch is CheckpointMoved {
                logger.debug("an earlier delivery had committed; reloading the checkpoint")
                EventStore.countResolvedOutcome("projection", committed: true)
                checkpoint = try await leases.checkpoint(of: projection.name)
                moves += 1
                if moves > 1 { try await Task.sleep(for: configuration.retry.delay(beforeAttempt: moves)) }
            } catch {
                failures += 1
                EventStore.countRetry("projection")
                // A lost connection, a refused one, a deadlock: the database's trouble, not the
                // event's. Only the handler's own failures count towards the poison policy.
                if !configuration.retry.allowsRetry(of: (error as? PGError)?.asRead ?? error),
                    !RetryPolicy.isOutcomeUnknown(error)
                {
                    handlerFailuresInARow += 1
                    handlerFailures.increment()
                }
                let failing = steps.compactMap(\.event).first
                logger.debug(
                    "handler failed; retrying",
                    metadata: [
                        "projection": "\(projection.name)", "position": "\(failing?.position ?? -1)",
                        "attempt": "\(failures)", "handlerFailures": "\(handlerFailuresInARow)", "error": "\(error)",
                    ])
                // Its outcome may be unknown: start again from what the database says.
                checkpoint = try await leases.checkpoint(of: projection.name)
                if checkpoint != previous { EventStore.countResolvedOutcome("projection", committed: true) }
                if let last = steps.last(where: { $0.event != nil })?.checkpoint.cursor {
                    stepUntil = max(stepUntil ?? last, last)
                }
                if case .skipAfter(let attempts) = configuration.poisonPolicy, handlerFailuresInARow >= attempts,
                    let failing, steps.compactMap(\.event).count == 1, checkpoint == previous
                {
                    try await skip(
                        failing, error: "\(error)", attempts: handlerFailuresInARow, from: previous, to: target,
                        of: projection, grant: grant)
                    checkpoint = target
                    failures = 0
                    handlerFailuresInARow = 0
                    continue
                }
                try await Task.sleep(for: configuration.retry.delay(beforeAttempt: failures + 1))
            }
        }
    }

    /// Records how far (in positions) the checkpoint trails the log's newest event.
    private func recordLag(of projection: Projection, at checkpoint: Checkpoint) async {
        let newest = try? await store.pool.withConnection { connection in
            try await connection.query("SELECT coalesce(max(global_position), 0) FROM mire_events", prepared: true)
                .single(Int64.self)
        }
        guard let newest else { return }
        Gauge(label: "mire_projection_lag", dimensions: [("projection", projection.name)])
            .record(Self.lag(newest: newest, checkpoint: checkpoint.cursor.position))
    }

    /// Delivers `steps` and moves the checkpoint from `previous` past them; for a transactional
    /// projection in one bounded transaction, so read-model writes and checkpoint commit together.
    private func deliver(
        _ steps: [GapSafeReader.Step], of projection: Projection, grant: LeaseGrant, from previous: Checkpoint
    ) async throws {
        let events = steps.compactMap(\.event)
        guard let target = steps.last?.checkpoint else { return }
        let tracer = store.tracer
        try await EventStore.traced(tracer, "mire.projection.batch", kind: .consumer) { span in
            span.recordAttributes {
                $0["mire.projection"] = projection.name
                $0["mire.event_count"] = events.count
            }
            if let first = events.first?.position, let last = events.last?.position {
                span.recordAttributes {
                    $0["mire.first_position"] = first
                    $0["mire.last_position"] = last
                }
            }
            // Each event links to the span of the save that wrote it (its trace context travels
            // in the event's metadata), so a request can be followed into its read models. The
            // events of one save carry the same context: one link for them all.
            var linked = Set<[String: String]>()
            for event in events where linked.insert(event.metadata.custom).inserted {
                guard let origin = event.traceContext(tracer) else { continue }
                span.addLink(
                    SpanLink(
                        context: origin,
                        attributes: [
                            "mire.stream": .string(event.stream.rawValue), "mire.position": .int64(event.position),
                        ]))
            }
            try await deliverInSpan(steps, events: events, to: target, of: projection, grant: grant, from: previous)
        }
    }

    private func deliverInSpan(
        _ steps: [GapSafeReader.Step], events: [RawRecordedEvent], to target: Checkpoint, of projection: Projection,
        grant: LeaseGrant, from previous: Checkpoint
    ) async throws {
        func handleAndCheckpoint(_ connection: PGConnection) async throws {
            if !events.isEmpty { try await projection.handleBatch(events, connection) }
            switch try await leases.checkpoint(grant, from: previous, to: target, handled: events.count, on: connection)
            {
            case .written: break
            case .fenced: throw Fenced()
            case .moved: throw CheckpointMoved()
            }
        }
        switch projection.delivery {
        case .transactional:
            try await store.pool.withTransaction(deliveryTransaction) { connection in
                try await handleAndCheckpoint(connection)
            }
        case .plain:
            try await store.pool.withConnection { connection in try await handleAndCheckpoint(connection) }
        }
    }

    /// The bounds of a delivery transaction (see ``Configuration/deliveryTimeout``).
    private var deliveryTransaction: PGTransactionOptions {
        PGTransactionOptions(
            statementTimeout: configuration.deliveryTimeout, idleInTransactionTimeout: configuration.deliveryTimeout)
    }

    /// Records a poison event and checkpoints past it, in one fenced transaction.
    private func skip(
        _ event: RawRecordedEvent, error: String, attempts: Int, from previous: Checkpoint, to checkpoint: Checkpoint,
        of projection: Projection, grant: LeaseGrant
    ) async throws {
        logger.debug(
            "skipping an event whose handler keeps failing",
            metadata: [
                "projection": "\(projection.name)", "position": "\(event.position)", "stream": "\(event.stream)",
            ])
        try await store.pool.withTransaction(deliveryTransaction) { connection in
            try await connection.query(
                """
                INSERT INTO mire_projection_skipped (name, global_position, stream_id, stream_version, event_type, error, attempts)
                VALUES (\(projection.name), \(event.position), \(event.stream.rawValue), \(event.version), \(event.type), \(error), \(Int32(clamping: attempts)))
                ON CONFLICT DO NOTHING
                """
            )
            switch try await leases.checkpoint(grant, from: previous, to: checkpoint, handled: 0, on: connection) {
            case .written: break
            case .fenced: throw Fenced()
            case .moved: throw CheckpointMoved()
            }
        }
    }

    /// The highest delivery key (transaction id, then position) among the events (of
    /// `category`) stored now, or nil for an empty log.
    private func logHead(category: String?) async throws -> Checkpoint.Key? {
        try await store.pool.withConnection { connection in
            try await connection.query(
                """
                SELECT transaction_id, global_position FROM mire_events
                WHERE \(category)::text IS NULL OR category = \(category)
                ORDER BY transaction_id DESC, global_position DESC LIMIT 1
                """
            ).first.map { row in
                let (xid, position) = try row.decode((PGTransactionID, Int64).self)
                return Checkpoint.Key(transactionID: xid.rawValue, position: position)
            }
        }
    }
}
