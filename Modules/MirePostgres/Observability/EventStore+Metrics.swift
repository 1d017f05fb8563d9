import Metrics
import MireCore

/// Mire's metrics follow one scheme: labels `mire_<area>_<what>` (durations in nanoseconds, as
/// swift-metrics timers record them), dimensions in lower snake case: `category` (the
/// aggregate's), `outcome` (`ok`, `conflict`, `error`), `operation`, `projection`.
extension EventStore {
    /// What `measured(_:category:isolation:_:)` times.
    package enum MeasuredOperation: String, Sendable {
        case save, load
    }

    /// Runs `body`, recording its duration as `mire_<operation>_duration` with the aggregate's
    /// `category` and the `outcome`; a conflict also counts towards `mire_save_conflicts`.
    ///
    /// ```swift
    /// let result = try await measured(.save, category: A.category) { try await append(…) }
    /// ```
    package func measured<T>(
        _ operation: MeasuredOperation, category: String, isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> T
    ) async throws -> T {
        let start = ContinuousClock.now
        do {
            let value = try await body()
            metrics.duration(operation, category: category, outcome: "ok").record(duration: ContinuousClock.now - start)
            return value
        } catch {
            let conflict = (error as? MireError)?.code == .concurrencyConflict
            let outcome = conflict ? "conflict" : "error"
            metrics.duration(operation, category: category, outcome: outcome).record(
                duration: ContinuousClock.now - start)
            if conflict { metrics.conflicts(category: category).increment() }
            throw error
        }
    }

    /// Counts one retry of `operation` (`update`, `transaction`, `projection`) under the one
    /// retry policy, as `mire_retries`.
    package static func countRetry(_ operation: String) {
        Counter(label: "mire_retries", dimensions: [("operation", operation)]).increment()
    }
}
