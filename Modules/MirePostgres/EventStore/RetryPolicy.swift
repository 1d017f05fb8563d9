import MireCore
import MirePQ

/// The one retry policy: how often and how soon work is tried again, and which failures are
/// worth it. ``EventStore/update(_:id:retry:isolation:_:)``, `store.transaction` and the
/// projection runner all decide with it.
///
/// Retryable: a concurrency conflict (after reloading), a lost connection when nothing can have
/// committed, a refused connection, a serialization failure or deadlock, and a lock timeout when
/// ``retriesLockTimeouts`` is on. Never: an unknown commit outcome (each caller resolves that by
/// the event ids it wrote, never by running the work blindly again), or a programming error
/// (invalid input, the same stream twice in a batch, repeated event ids).
///
/// ```swift
/// let policy = RetryPolicy(maximumAttempts: 20, baseDelay: .milliseconds(2), maximumDelay: .milliseconds(200))
/// ```
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all, including the first.
    public var maximumAttempts: Int
    /// The first backoff; it doubles per attempt, with full jitter.
    public var baseDelay: Duration
    /// The cap on one backoff.
    public var maximumDelay: Duration
    /// Whether a lock timeout (another transaction held a lock too long) is retried.
    public var retriesLockTimeouts: Bool

    /// A policy.
    public init(
        maximumAttempts: Int = 10, baseDelay: Duration = .milliseconds(1), maximumDelay: Duration = .milliseconds(100),
        retriesLockTimeouts: Bool = false
    ) {
        precondition(maximumAttempts >= 1, "at least one attempt")
        self.maximumAttempts = maximumAttempts
        self.baseDelay = baseDelay
        self.maximumDelay = maximumDelay
        self.retriesLockTimeouts = retriesLockTimeouts
    }

    /// Ten attempts, 1 ms doubling to at most 100 ms, full jitter.
    public static let `default` = RetryPolicy()

    /// The pause before attempt `attempt` (2, 3, …): a random duration up to the capped backoff.
    public func delay(beforeAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt - 2, 0), 20)
        // At most a day, so that neither the doubling nor the conversion to nanoseconds can
        // overflow, whatever the configuration says.
        let ceiling = min((baseDelay.atMostADay * (1 << exponent)).atMostADay, maximumDelay)
        let nanoseconds = max(
            ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000, 1)
        return .nanoseconds(Int64.random(in: 0...nanoseconds))
    }

    /// Whether `error` is worth running the work again under this policy.
    ///
    /// ```swift
    /// if policy.allowsRetry(of: error), attempt < policy.maximumAttempts { … }
    /// ```
    public func allowsRetry(of error: any Error) -> Bool {
        if let mire = error as? MireError {
            return mire.code == .lockTimeout ? retriesLockTimeouts : mire.isRetryable
        }
        if let postgres = error as? PGError {
            return postgres.isLockNotAvailable ? retriesLockTimeouts : postgres.isRetryable
        }
        return false
    }

    /// Whether `error` says a write may or may not have been stored.
    public static func isOutcomeUnknown(_ error: any Error) -> Bool {
        if let mire = error as? MireError { return mire.code == .commitOutcomeUnknown }
        return (error as? PGError)?.code == .commitOutcomeUnknown
    }
}
