public import MirePostgres

/// How ``MirePostgres/EventStore/transaction(_:isolation:_:)`` runs its scope.
///
/// ```swift
/// var options = TransactionOptions(lockTimeout: .seconds(2), retry: RetryPolicy(maximumAttempts: 5))
/// options.isolationLevel = .serializable
/// ```
public struct TransactionOptions: Sendable {
    /// PostgreSQL's transaction isolation levels.
    public enum IsolationLevel: String, Sendable, Hashable {
        /// Each statement sees what was committed before it began (PostgreSQL's default).
        case readCommitted = "READ COMMITTED"
        /// The whole transaction sees one snapshot.
        case repeatableRead = "REPEATABLE READ"
        /// As if transactions ran one at a time; may fail with a serialization error (retried).
        case serializable = "SERIALIZABLE"
    }

    /// The isolation level.
    public var isolationLevel: IsolationLevel
    /// How long a statement waits for a lock before failing with `lockTimeout`; nil = the server's setting.
    public var lockTimeout: Duration?
    /// Retries of the whole scope on a concurrency conflict, serialization failure, deadlock or
    /// lost connection. One attempt means no retry.
    public var retry: RetryPolicy
    /// Called before each retry with the error and the attempt about to start (for logs/metrics).
    public var onRetry: (@Sendable (_ error: any Error, _ nextAttempt: Int) -> Void)?

    /// Options; by default read committed, the server's lock timeout, and no retry.
    public init(
        isolationLevel: IsolationLevel = .readCommitted,
        lockTimeout: Duration? = nil,
        retry: RetryPolicy = RetryPolicy(maximumAttempts: 1),
        onRetry: (@Sendable (_ error: any Error, _ nextAttempt: Int) -> Void)? = nil
    ) {
        self.isolationLevel = isolationLevel
        self.lockTimeout = lockTimeout
        self.retry = retry
        self.onRetry = onRetry
    }
}
