import MirePostgres

extension ProjectionRunner {
    /// What to do with an event whose handler keeps failing.
    public enum PoisonPolicy: Sendable, Hashable {
        /// Retry forever with backoff: the projection stops at the event until it succeeds.
        case retryForever
        /// After this many failed attempts, record the event in `mire_projection_skipped` and go on.
        case skipAfter(attempts: Int)
    }

    /// Tunables of a runner.
    ///
    /// ```swift
    /// var configuration = ProjectionRunner.Configuration(workerID: "api-1")
    /// configuration.leaseTTL = .seconds(5)
    /// configuration.poisonPolicy = .skipAfter(attempts: 10)
    /// ```
    public struct Configuration: Sendable {
        /// This worker's id (unique among replicas).
        public var workerID: String
        /// How long a lease lasts without a heartbeat; failover happens within about this time.
        public var leaseTTL: Duration
        /// How often a held lease is renewed.
        public var heartbeatInterval: Duration
        /// How often a worker without the lease tries to take it.
        public var leaseRecheckInterval: Duration
        /// How often to poll the log when no notification arrives.
        public var pollInterval: Duration
        /// Events read per batch (one transaction per batch for transactional projections).
        public var batchSize: Int
        /// The first backoff after a handler failure; doubles up to `maximumBackoff`.
        public var initialBackoff: Duration
        /// The longest backoff.
        public var maximumBackoff: Duration
        /// What to do with an event whose handler keeps failing.
        public var poisonPolicy: PoisonPolicy
        /// The LISTEN channel for wake-ups (nil: poll only). Matches `EventStore.Configuration.wakeUpChannel`.
        public var wakeUpChannel: String?
        /// The bound on one delivery: a statement may run this long, and the server ends a
        /// delivery transaction left idle this long (a frozen or cut-off worker). A frozen
        /// worker is fenced out within about `leaseTTL + deliveryTimeout`, and holds back no
        /// other projection longer than `deliveryTimeout`.
        public var deliveryTimeout: Duration
        /// How long taking the lease waits for a row lock (a worker's checkpoint in flight)
        /// before trying again later.
        public var leaseLockTimeout: Duration
        /// Backoff between retries of failed handlers and database errors (the one retry policy).
        var retry: RetryPolicy {
            RetryPolicy(maximumAttempts: .max, baseDelay: initialBackoff, maximumDelay: maximumBackoff)
        }

        /// Defaults: 10 s lease, heartbeat every 3 s, poll every second, batches of 500, retry
        /// forever, 30 s delivery bound.
        public init(workerID: String) {
            self.workerID = workerID
            leaseTTL = .seconds(10)
            heartbeatInterval = .seconds(3)
            leaseRecheckInterval = .seconds(2)
            pollInterval = .seconds(1)
            batchSize = 500
            initialBackoff = .milliseconds(50)
            maximumBackoff = .seconds(5)
            poisonPolicy = .retryForever
            wakeUpChannel = EventStore.Configuration.defaultWakeUpChannel
            deliveryTimeout = .seconds(30)
            leaseLockTimeout = .seconds(2)
        }
    }
}
