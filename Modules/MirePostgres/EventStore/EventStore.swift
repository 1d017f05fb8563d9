public import Logging
public import MireCore
public import MirePQ
import Synchronization
public import Tracing

/// The event store on PostgreSQL: load → record → save.
///
/// The store is a ServiceLifecycle `Service`: ``run()`` does its background work (projection
/// wake-ups, background snapshot writes) and, at graceful shutdown, finishes it and closes the
/// pool. Without a service group, ``withBackgroundWork(isolation:_:)`` does the same for a scope.
///
/// ```swift
/// let pool = PGPool(configuration: config, logger: logger)
/// let store = EventStore(pool: pool, logger: logger)
/// try await store.migrate()
///
/// var account = try await store.loadOrDefault(Account.self, id: "acc-1")
/// try account.deposit(100)
/// try await store.save(&account)   // one round trip; a concurrent writer → concurrencyConflict
/// ```
public final class EventStore: Sendable {
    /// Tunables.
    public struct Configuration: Sendable {
        /// Events fetched per round trip while loading a stream: memory stays bounded by one page
        /// however long the stream is (a count of events, not bytes: each payload is bounded only
        /// by what PostgreSQL stores in one jsonb). Values below 1 are read as 1.
        public var loadPageSize: Int
        /// Snapshots used by `load` and taken after `save`; nil (the default) for none.
        public var snapshots: (any SnapshotHook)?
        /// The channel on which projections are woken after commits (coalesced, sent after the
        /// commit, never inside it); nil turns wake-ups off (projections then poll).
        public var wakeUpChannel: String?

        /// Where spans of loads, saves, appends, transactions and projection batches go; nil (the
        /// default) for the process's `InstrumentationSystem.tracer` as bootstrapped when the
        /// store is made (bootstrap tracing first, as with logging and metrics).
        public var tracer: (any Tracer)?

        /// A hot standby for the loads and reads that ask for one (``ReadConsistency``); nil
        /// (the default) serves every read from ``EventStore/pool``.
        public var readReplica: ReadReplica?

        /// The channel projections listen on by default.
        public static let defaultWakeUpChannel = "mire_events"

        /// Default settings.
        ///
        /// ```swift
        /// var configuration = EventStore.Configuration()
        /// configuration.loadPageSize = 2_000
        /// ```
        public init(
            loadPageSize: Int = 1_000, snapshots: (any SnapshotHook)? = nil,
            wakeUpChannel: String? = Configuration.defaultWakeUpChannel, tracer: (any Tracer)? = nil,
            readReplica: ReadReplica? = nil
        ) {
            self.loadPageSize = loadPageSize
            self.snapshots = snapshots
            self.wakeUpChannel = wakeUpChannel
            self.tracer = tracer
            self.readReplica = readReplica
        }
    }

    /// Where the log lives.
    public let pool: PGPool
    /// Tunables.
    public let configuration: Configuration
    /// The logger given at construction; calls log to ``logger`` (the task's, if one is set).
    private let storeLogger: Logger
    /// Where this call logs: the logger set for the task with ``withLogger(_:isolation:_:)``
    /// (a request's, with its metadata), else the store's.
    package var logger: Logger { Self.taskLogger ?? storeLogger }
    let notifier: CommitNotifier?
    /// Where spans go: the configured tracer, or the process's, resolved once (looking it up
    /// takes a lock and a dynamic cast, which cost a save about 3 µs of CPU).
    package let tracer: any Tracer
    /// The store's timers and counters, made once per category and outcome.
    let metrics = StoreMetrics()
    /// Writes taken off the caller's path (snapshots), run while the store runs.
    let backgroundWrites = BackgroundQueue()
    /// Whether a scope (``run()`` or ``withBackgroundWork(isolation:_:)``) runs the background
    /// work, from its start until both of its runners returned.
    let backgroundScope = Atomic<Bool>(false)

    /// A store over `pool`. Call ``migrate()`` once at start-up.
    public init(pool: PGPool, configuration: Configuration = Configuration(), logger: Logger) {
        self.pool = pool
        self.configuration = configuration
        self.storeLogger = logger
        self.tracer = configuration.tracer ?? InstrumentationSystem.tracer
        self.notifier = configuration.wakeUpChannel.map {
            CommitNotifier(channel: $0, configuration: pool.configuration, logger: logger)
        }
    }

    /// Wakes projections after events were committed (background, coalesced; no-op when off or
    /// when the store is not running).
    package func didCommitEvents() {
        notifier?.poke()
    }

    /// Applies Mire's pending migrations (safe to call from every replica at start-up).
    @discardableResult
    public func migrate() async throws -> [Migration] {
        try await Migrator(pool: pool, logger: logger).migrate()
    }
}

extension PGError: RetryableError {}

extension MireError {
    /// Wraps a database failure, keeping it as the underlying error. With `reading`, the work
    /// changed nothing, so a connection lost in flight is plainly retryable.
    package static func database(
        _ error: any Error, stream: StreamID? = nil, doing action: String, reading: Bool = false
    ) -> MireError {
        if let mire = error as? MireError { return mire }
        let postgres = (error as? PGError).map { reading ? $0.asRead : $0 }
        if let postgres, postgres.code == .commitOutcomeUnknown {
            return MireError(
                code: .commitOutcomeUnknown,
                message: "\(action): the connection was lost after COMMIT was sent; it may or may not have committed",
                stream: stream?.rawValue,
                recovery: "check whether the work was stored before repeating it",
                underlying: postgres
            )
        }
        if let postgres, postgres.isLockNotAvailable {
            return MireError(
                code: .lockTimeout,
                message: "\(action) waited longer than the lock timeout for a lock",
                stream: stream?.rawValue,
                recovery: "another transaction holds the stream; retry later, or raise the lock timeout",
                underlying: postgres
            )
        }
        return MireError(
            code: .database,
            message: "\(action) failed: "
                + (postgres.map { "\($0.message) (SQLSTATE \($0.sqlState ?? "-"))" } ?? "\(error)"),
            stream: stream?.rawValue,
            recovery: postgres?.isRetryable == true
                ? "the failure is transient; retry the operation" : "check the database and the error underneath",
            underlying: postgres ?? error
        )
    }
}
