import Metrics

/// The pool's gauges and timer, made once per pool (see ``PGPool`` for their labels).
struct PoolMetrics: Sendable {
    private let open: Gauge
    private let idle: Gauge
    private let waiters: Gauge
    private let wait: Timer

    init(pool: String) {
        open = Gauge(label: "mire_pool_connections", dimensions: [("pool", pool), ("state", "open")])
        idle = Gauge(label: "mire_pool_connections", dimensions: [("pool", pool), ("state", "idle")])
        waiters = Gauge(label: "mire_pool_waiters", dimensions: [("pool", pool)])
        wait = Timer(label: "mire_pool_wait_duration", dimensions: [("pool", pool)])
    }

    func record(open: Int, idle: Int, waiting: Int) {
        self.open.record(open)
        self.idle.record(idle)
        waiters.record(waiting)
    }

    func recordWait(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        wait.record(duration: elapsed)
    }
}
