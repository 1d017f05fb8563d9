import Metrics
public import MireCore

/// What ``EventStore/update(_:id:retry:isolation:_:)`` did.
public struct UpdateResult<A: Aggregate>: Sendable {
    /// The aggregate as saved.
    public var root: AggregateRoot<A>
    /// Attempts made in all (1 when the first save went through).
    public var attempts: Int
    /// Concurrency conflicts met along the way (each re-ran the command on fresh state).
    public var conflicts: Int
    /// The token of the commit that stored the command's events, for reading them back on a
    /// replica (``ReadConsistency/replica(after:)``); nil when the command recorded nothing.
    public var commitToken: CommitToken?

    /// A result, as a store reports it.
    public init(root: AggregateRoot<A>, attempts: Int, conflicts: Int, commitToken: CommitToken? = nil) {
        self.root = root
        self.attempts = attempts
        self.conflicts = conflicts
        self.commitToken = commitToken
    }
}

extension EventStore {
    /// Load → run a command → save, retrying under `policy` until the save is stored once.
    ///
    /// After a concurrency conflict the command runs again on freshly loaded state, so it must
    /// only validate and record (no side effects). When a save's reply is lost, the same events
    /// are sent again with the same ids: the store reports them as stored if the first attempt
    /// committed, so the command's events are stored exactly once; the command runs again only
    /// once its events are proven not stored (a conflict after the stream's lock). Errors the
    /// command throws are not retried.
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
        var conflicts = 0
        while true {
            var root: AggregateRoot<A>
            do {
                root = try await loadOrDefault(A.self, id: id)
            } catch  where policy.allowsRetry(of: error) && attempt < policy.maximumAttempts {
                attempt += 1
                Self.countRetry("update")
                try await Task.sleep(for: policy.delay(beforeAttempt: attempt))
                continue
            }
            try command(&root)
            do {
                let saved = try await saveUntilKnown(&root, policy: policy, attempt: &attempt)
                return UpdateResult(
                    root: root, attempts: attempt, conflicts: conflicts, commitToken: saved.commitToken)
            } catch let error as MireError where error.code == .concurrencyConflict && attempt < policy.maximumAttempts
            {
                attempt += 1
                conflicts += 1
                Self.countRetry("update")
                logger.debug(
                    "conflict; running the command again", metadata: ["stream": "\(root.id)", "attempt": "\(attempt)"])
                try await Task.sleep(for: policy.delay(beforeAttempt: attempt))
            }
        }
    }

    /// Saves `root`, sending the same events (same ids) again after a lost reply or another
    /// transient failure, until the outcome is known. A conflict is thrown to the caller: it
    /// means these events are not stored.
    private func saveUntilKnown<A: Aggregate>(
        _ root: inout AggregateRoot<A>, policy: RetryPolicy, attempt: inout Int
    ) async throws -> AppendResult {
        var outcomeWasUnknown = false
        do {
            while true {
                do {
                    let result = try await save(&root)
                    if outcomeWasUnknown { Self.countResolvedOutcome("save", committed: result.wasAlreadyStored) }
                    return result
                } catch let error as MireError where error.code == .concurrencyConflict {
                    if outcomeWasUnknown { Self.countResolvedOutcome("save", committed: false) }
                    throw error
                } catch
                    where (RetryPolicy.isOutcomeUnknown(error) || policy.allowsRetry(of: error))
                    && attempt < policy.maximumAttempts
                {
                    outcomeWasUnknown = outcomeWasUnknown || RetryPolicy.isOutcomeUnknown(error)
                    attempt += 1
                    Self.countRetry("update")
                    logger.debug(
                        "save outcome unknown or transient failure; sending the same events again",
                        metadata: ["stream": "\(root.id)", "attempt": "\(attempt)", "error": "\(error)"])
                    try await Task.sleep(for: policy.delay(beforeAttempt: attempt))
                }
            }
        } catch let error as MireError where error.code == .concurrencyConflict {
            throw error  // proven not stored
        } catch {
            // Out of attempts, cancelled, or failed otherwise while an earlier attempt's outcome
            // is still unknown: the caller must not take this for "not stored".
            guard outcomeWasUnknown, !RetryPolicy.isOutcomeUnknown(error) else { throw error }
            throw MireError(
                code: .commitOutcomeUnknown,
                message: "a save's reply was lost, and resending it did not settle whether it was stored",
                stream: root.id.rawValue,
                recovery: "save the same aggregate again (same event ids) to learn where its events are",
                underlying: error)
        }
    }

    /// Counts an unknown outcome settled by the event ids (`mire_outcome_unknown_resolved`, by
    /// operation and outcome), for dashboards and the chaos demo.
    package static func countResolvedOutcome(_ operation: String, committed: Bool) {
        Counter(
            label: "mire_outcome_unknown_resolved",
            dimensions: [("operation", operation), ("outcome", committed ? "committed" : "not_committed")]
        ).increment()
    }
}
