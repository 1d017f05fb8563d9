import DriverWorkloads
import Foundation
import Logging
import MirePostgres

// Loads one 1,000-event stream many times: a target for profilers (perf, callgrind).

let configuration = try await BenchmarkServer.start()
let pool = PostgresPool(configuration: configuration, maximumConnections: 1, logger: Logger(label: "profile"))
let store = EventStore(pool: pool, logger: Logger(label: "profile"))
try await store.migrate()
do {
    var long = try await store.loadOrDefault(Ledger.self, id: "long")
    for _ in 0..<1_000 { long.record(.deposited(amount: 1)) }
    try await store.save(&long)
}
let loads = Int(ProcessInfo.processInfo.environment["LOADS"] ?? "") ?? 200
let started = ContinuousClock.now
for _ in 0..<loads {
    let loaded = try await store.load(Ledger.self, id: "long")
    precondition(loaded?.state.total == 1_000)
}
print("\(loads) loads of 1,000 events: \(ContinuousClock.now - started)")
await pool.shutdown()
