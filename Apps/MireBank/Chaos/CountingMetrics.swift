import Metrics
import MireBankDomain
import Synchronization

/// A swift-metrics backend that only adds up counters, in memory: the chaos run reads how many
/// unknown outcomes the library resolved, and how. (Apps bootstrap metrics; libraries never do.)
final class CountingMetrics: MetricsFactory, Sendable {
    private let totals = Mutex<[String: Int64]>([:])

    /// The counter's total, by label and dimensions (`label{key=value,…}`).
    func total(_ label: String, _ dimensions: [(String, String)] = []) -> Int64 {
        totals.withLock { $0[Self.key(label, dimensions)] ?? 0 }
    }

    static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        dimensions.isEmpty ? label : label + "{" + dimensions.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        Handler(key: Self.key(label, dimensions), totals: self)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        NOOPMetricsHandler.instance
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        NOOPMetricsHandler.instance
    }

    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}

    fileprivate func add(_ amount: Int64, to key: String) {
        totals.withLock { $0[key, default: 0] += amount }
    }

    private final class Handler: CounterHandler, Sendable {
        let key: String
        let totals: CountingMetrics
        init(key: String, totals: CountingMetrics) {
            self.key = key
            self.totals = totals
        }
        func increment(by amount: Int64) { totals.add(amount, to: key) }
        func reset() {}
    }
}
