import Metrics
import Synchronization

/// The timers and counters of one store, made on first use and kept: making a metric asks the
/// metrics factory under its lock and builds the label, which cost every save and load a few
/// microseconds. Made per store (not per process), so that a store made after
/// `MetricsSystem.bootstrap` records to the bootstrapped backend.
///
/// ```swift
/// metrics.duration(.save, category: "account", outcome: "ok").record(duration: elapsed)
/// ```
final class StoreMetrics: Sendable {
    private struct Key: Hashable {
        var operation: EventStore.MeasuredOperation
        var category: String
        var outcome: String
    }

    private let timers = Mutex<[Key: Timer]>([:])
    private let conflictCounters = Mutex<[String: Counter]>([:])

    /// `mire_<operation>_duration` for `category` and `outcome`.
    func duration(_ operation: EventStore.MeasuredOperation, category: String, outcome: String) -> Timer {
        let key = Key(operation: operation, category: category, outcome: outcome)
        if let timer = timers.withLock({ $0[key] }) { return timer }
        // Made outside the lock (the factory takes its own); a racing maker's timer is the same metric.
        let timer = Timer(
            label: "mire_\(operation.rawValue)_duration", dimensions: [("category", category), ("outcome", outcome)])
        return timers.withLock { timers in
            if let existing = timers[key] { return existing }
            timers[key] = timer
            return timer
        }
    }

    /// `mire_save_conflicts` for `category`.
    func conflicts(category: String) -> Counter {
        if let counter = conflictCounters.withLock({ $0[category] }) { return counter }
        let counter = Counter(label: "mire_save_conflicts", dimensions: [("category", category)])
        return conflictCounters.withLock { counters in
            if let existing = counters[category] { return existing }
            counters[category] = counter
            return counter
        }
    }
}
