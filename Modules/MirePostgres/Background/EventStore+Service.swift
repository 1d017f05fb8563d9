import MireCore
public import ServiceLifecycle

extension EventStore: Service {
    /// Does the store's background work — projection wake-ups after commits, background snapshot
    /// writes — until graceful shutdown, then finishes the work already asked for and closes the
    /// pool's connections. Cancellation stops it sooner: queued jobs still get their turn, but
    /// in a cancelled task, so their statements fail at once and the work is dropped (nothing
    /// is lost: a snapshot is a cache written again later, and projections poll).
    ///
    /// ```swift
    /// let store = EventStore(pool: pool, logger: logger)
    /// let group = ServiceGroup(services: [store, runner, app], gracefulShutdownSignals: [.sigterm], logger: logger)
    /// try await group.run()
    /// ```
    ///
    /// Without it, saves and loads work as usual, but projections learn of new events only by
    /// polling, and background snapshots are written on the saving caller's path.
    public func run() async throws {
        guard startBackgroundWork() else {
            throw MireError(
                code: .invalidOperation, message: "the store runs already",
                recovery: "run each store once, in one service group")
        }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await runBackgroundWork()
            } onCancel: {
                self.finishBackgroundWork()
            }
        } onGracefulShutdown: {
            self.finishBackgroundWork()
        }
        logger.debug("store stopping: background work finished, closing the pool")
        await pool.shutdown()
        logger.debug("store stopped: pool closed")
    }

    /// Runs `body` with the store's background work going, then finishes that work before
    /// returning; the pool stays open. For command-line tools and tests, which have no service
    /// group.
    ///
    /// ```swift
    /// try await store.withBackgroundWork {
    ///     var account = try await store.loadOrDefault(Account.self, id: "acc-1")
    ///     try account.deposit(100)
    ///     try await store.save(&account)   // wakes projections; may queue a snapshot
    /// }   // the wake-up and the snapshot are sent before this returns
    /// ```
    public func withBackgroundWork<R>(
        isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> R
    ) async throws -> R {
        // Inside run() or another scope: that one does the work.
        guard startBackgroundWork() else { return try await body() }
        return try await withThrowingDiscardingTaskGroup(returning: R.self) { group in
            group.addTask { await self.runBackgroundWork() }
            defer { finishBackgroundWork() }
            return try await body()
        }
    }

    /// Whether the store's background work runs now (``run()`` or ``withBackgroundWork(isolation:_:)``):
    /// wake-ups are sent and background snapshots queued only then.
    ///
    /// ```swift
    /// if !store.isRunning { logger.warning("add the store to the service group") }
    /// ```
    public var isRunning: Bool { backgroundWrites.isRunning }

    /// Returns when no background work is queued or running (for tests and tools).
    ///
    /// ```swift
    /// try await store.save(&account)
    /// await store.waitForBackgroundWork()   // its snapshot, if one was due, is written
    /// ```
    public func waitForBackgroundWork() async {
        await backgroundWrites.waitUntilIdle()
        await notifier?.queue.waitUntilIdle()
    }

    /// Queues `job` under `key` (replacing a job still waiting under it) to run in the store's
    /// background work; false when the store is not running, and the caller must do it itself.
    package func runInBackground(key: String, _ job: @escaping @Sendable () async -> Void) -> Bool {
        backgroundWrites.submit(key: key, job)
    }

    /// Starts both queues as one, or neither: a scope that is still winding down (one queue
    /// drained, the other not yet) holds `backgroundScope` until both runners returned, so a new
    /// scope never starts a second runner on a queue that one still drains.
    private func startBackgroundWork() -> Bool {
        guard
            backgroundScope.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return false }
        let writesStarted = backgroundWrites.start()
        let wakeUpsStarted = notifier?.queue.start() ?? true
        assert(writesStarted && wakeUpsStarted, "a queue outlived its scope")
        return true
    }

    private func runBackgroundWork() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.backgroundWrites.runJobs() }
            if let notifier { group.addTask { await notifier.queue.runJobs() } }
        }
        await notifier?.close()
        backgroundScope.store(false, ordering: .releasing)
    }

    private func finishBackgroundWork() {
        backgroundWrites.finish()
        notifier?.queue.finish()
    }
}
