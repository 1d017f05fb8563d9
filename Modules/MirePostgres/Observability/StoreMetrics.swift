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
    private let replicaReadCounters = Mutex<[ReplicaOutcome: Counter]>([:])

    /// `mire_<operation>_duration` for `category` and `outcome`.
    func duration(_ operation: EventStore.MeasuredOperation, category: String, outcome: String) -> Timer {
        Self.cached(Key(operation: operation, category: category, outcome: outcome), in: timers) {
            Timer(
                label: "mire_\(operation.rawValue)_duration",
                dimensions: [("category", category), ("outcome", outcome)])
        }
    }

    /// `mire_save_conflicts` for `category`.
    func conflicts(category: String) -> Counter {
        Self.cached(category, in: conflictCounters) {
            Counter(label: "mire_save_conflicts", dimensions: [("category", category)])
        }
    }

    /// `mire_replica_reads` for where a replica-routed read was served.
    func replicaReads(servedBy outcome: ReplicaOutcome) -> Counter {
        Self.cached(outcome, in: replicaReadCounters) {
            Counter(label: "mire_replica_reads", dimensions: [("served_by", outcome.rawValue)])
        }
    }

    /// The metric kept for `key`, made by `make` the first time. Made outside the lock (the
    /// factory takes its own); a racing maker's metric is the same metric, and the first kept wins.
    private static func cached<Key: Hashable & Sendable, Metric: AnyObject & Sendable>(
        _ key: Key, in cache: borrowing Mutex<[Key: Metric]>, make: () -> Metric
    ) -> Metric {
        if let metric = cache.withLock({ $0[key] }) { return metric }
        let made = make()
        return cache.withLock { metrics in
            if let existing = metrics[key] { return existing }
            metrics[key] = made
            return made
        }
    }
}
