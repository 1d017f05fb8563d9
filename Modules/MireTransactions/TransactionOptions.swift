public import MirePQ
public import MirePostgres

/// How ``MirePostgres/EventStore/transaction(_:isolation:_:)`` runs its scope.
///
/// Every transaction is bounded by default: a statement may run 30 s, and the server ends a
/// session that leaves its transaction idle for 30 s (a frozen or cut-off client), so a stalled
/// scope cannot hold locks — or every projection's horizon — for longer than that.
///
/// ```swift
/// var options = TransactionOptions(lockTimeout: .seconds(2), retry: RetryPolicy(maximumAttempts: 5))
/// options.isolationLevel = .serializable
/// ```
public struct TransactionOptions: Sendable {
    /// PostgreSQL's transaction isolation levels.
    public typealias IsolationLevel = PGTransactionOptions.IsolationLevel

    /// The isolation level.
    public var isolationLevel: IsolationLevel
    /// How long a statement waits for a lock before failing with `lockTimeout`; nil = the server's setting.
    public var lockTimeout: Duration?
    /// How long one statement may run; nil = the server's setting.
    public var statementTimeout: Duration?
    /// How long the transaction may sit idle between statements before the server ends the
    /// session; nil = the server's setting.
    public var idleInTransactionTimeout: Duration?
    /// Retries of the whole scope on a concurrency conflict, serialization failure, deadlock,
    /// lost connection (before `COMMIT`), or lock timeout if the policy says so. One attempt
    /// means no retry. A scope whose `COMMIT` reply was lost is never simply run again: see
    /// ``MirePostgres/EventStore/transaction(_:isolation:_:)``.
    public var retry: RetryPolicy
    /// How long to wait for a transaction whose `COMMIT` reply was lost to finish on the server
    /// before giving up with `commitOutcomeUnknown`.
    public var outcomeResolutionTimeout: Duration
    /// Called before each retry with the error and the attempt about to start (for logs/metrics).
    public var onRetry: (@Sendable (_ error: any Error, _ nextAttempt: Int) -> Void)?

    /// Options; by default read committed, the server's lock timeout, 30 s bounds, and no retry.
    public init(
        isolationLevel: IsolationLevel = .readCommitted,
        lockTimeout: Duration? = nil,
        statementTimeout: Duration? = .seconds(30),
        idleInTransactionTimeout: Duration? = .seconds(30),
        retry: RetryPolicy = RetryPolicy(maximumAttempts: 1),
        outcomeResolutionTimeout: Duration = .seconds(60),
        onRetry: (@Sendable (_ error: any Error, _ nextAttempt: Int) -> Void)? = nil
    ) {
        self.isolationLevel = isolationLevel
        self.lockTimeout = lockTimeout
        self.statementTimeout = statementTimeout
        self.idleInTransactionTimeout = idleInTransactionTimeout
        self.retry = retry
        self.outcomeResolutionTimeout = outcomeResolutionTimeout
        self.onRetry = onRetry
    }

    /// The driver-level settings of the transaction.
    var postgres: PGTransactionOptions {
        PGTransactionOptions(
            isolationLevel: isolationLevel, lockTimeout: lockTimeout, statementTimeout: statementTimeout,
            idleInTransactionTimeout: idleInTransactionTimeout)
    }
}
