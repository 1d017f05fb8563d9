public import MireCore

/// How ``EventStore/update(_:id:retry:isolation:_:)`` retries on a concurrency conflict.
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

    /// A policy.
    public init(
        maximumAttempts: Int = 10, baseDelay: Duration = .milliseconds(1), maximumDelay: Duration = .milliseconds(100)
    ) {
        precondition(maximumAttempts >= 1, "at least one attempt")
        self.maximumAttempts = maximumAttempts
        self.baseDelay = baseDelay
        self.maximumDelay = maximumDelay
    }

    /// Ten attempts, 1 ms doubling to at most 100 ms, full jitter.
    public static let `default` = RetryPolicy()

    /// The pause before attempt `attempt` (2, 3, …): a random duration up to the capped backoff.
    package func delay(beforeAttempt attempt: Int) -> Duration {
        let exponent = min(attempt - 2, 20)
        let ceiling = min(baseDelay * (1 << exponent), maximumDelay)
        let nanoseconds = max(
            ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000, 1)
        return .nanoseconds(Int64.random(in: 0...nanoseconds))
    }
}

/// What ``EventStore/update(_:id:retry:isolation:_:)`` did.
public struct UpdateResult<A: Aggregate>: Sendable {
    /// The aggregate as saved.
    public var root: AggregateRoot<A>
    /// Attempts made (1 when the first save went through).
    public var attempts: Int
    /// Conflicts met along the way (`attempts - 1`).
    public var conflicts: Int { attempts - 1 }
}

extension EventStore {
    /// Load → run a command → save, retrying on a concurrency conflict with jittered backoff.
    ///
    /// The command runs again on freshly loaded state after each conflict, so it must only
    /// validate and record (no side effects). Errors the command throws are not retried.
    ///
    /// ```swift
    /// let result = try await store.update(Account.self, id: "acc-1") { account in
    ///     try account.deposit(1)
    /// }
    /// print(result.root.state.balance, result.conflicts)
    /// ```
    @discardableResult
    public func update<A: Aggregate>(
        _ type: A.Type,
        id: String,
        retry policy: RetryPolicy = .default,
        isolation: isolated (any Actor)? = #isolation,
        _ command: (inout AggregateRoot<A>) throws -> Void
    ) async throws -> UpdateResult<A> {
        var attempt = 1
        while true {
            var root = try await loadOrDefault(A.self, id: id)
            try command(&root)
            do {
                try await save(&root)
                return UpdateResult(root: root, attempts: attempt)
            } catch let error as MireError where error.code == .concurrencyConflict && attempt < policy.maximumAttempts
            {
                attempt += 1
                logger.debug("conflict; retrying", metadata: ["stream": "\(root.id)", "attempt": "\(attempt)"])
                try await Task.sleep(for: policy.delay(beforeAttempt: attempt))
            }
        }
    }
}
