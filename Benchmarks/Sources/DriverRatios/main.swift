import DriverWorkloads
import Foundation
import Logging
import MirePQ
import MirePostgres

// Runs each workload through Mire and through raw libpq on the same server, interleaved, and
// prints medians with the ratio Mire / raw (1.00 = no overhead).
let configuration = try await BenchmarkServer.start()
let mire = MireWorkloads(
    connection: try await PGConnection.connect(configuration: configuration, logger: Logger(label: "bench")))
let raw = try RawLibPQ(conninfo: BenchmarkServer.conninfo(configuration))
try await mire.resetTable()

func median(_ values: [Duration]) -> Duration { values.sorted()[values.count / 2] }
func format(_ duration: Duration) -> String {
    let micros = Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
    return micros >= 10_000 ? String(format: "%9.2f ms", micros / 1000) : String(format: "%9.1f µs", micros)
}

struct Workload {
    let name: String
    let repetitions: Int
    let mire: () async throws -> Void
    let raw: () throws -> Void
}

let workloads = [
    Workload(
        name: "SELECT 1 round trip", repetitions: 2000, mire: { try await mire.selectOne() },
        raw: { try raw.selectOne() }),
    Workload(
        name: "1000 inserts, one round trip each", repetitions: 5,
        mire: { try await mire.insertOneByOne(1000) }, raw: { try raw.insertOneByOne(1000) }),
    Workload(
        name: "1000 inserts, pipelined (one sync)", repetitions: 30,
        mire: { try await mire.insertPipelined(1000) }, raw: { try raw.insertPipelined(1000) }),
    Workload(
        name: "1000 rows, one array insert", repetitions: 30,
        mire: { try await mire.insertArray(1000) }, raw: { try raw.insertArray(1000) }),
]

print("Mire driver vs raw libpq, same server, medians (\(configuration))")
print("workload                                   Mire          libpq     Mire/libpq")
let clock = ContinuousClock()
for workload in workloads {
    var mireTimes: [Duration] = []
    var rawTimes: [Duration] = []
    for _ in 0..<min(20, workload.repetitions) {  // warm-up
        try await workload.mire()
        try workload.raw()
    }
    for _ in 0..<workload.repetitions {
        mireTimes.append(try await clock.measure { try await workload.mire() })
        rawTimes.append(try clock.measure { try workload.raw() })
    }
    let ratio =
        Double(
            median(mireTimes).components.attoseconds + median(mireTimes).components.seconds * 1_000_000_000_000_000_000)
        / Double(
            median(rawTimes).components.attoseconds + median(rawTimes).components.seconds * 1_000_000_000_000_000_000)
    print(
        workload.name.padding(toLength: 40, withPad: " ", startingAt: 0),
        format(median(mireTimes)), format(median(rawTimes)), String(format: "%10.2f×", ratio)
    )
    try await mire.resetTable()
}
await mire.connection.close()
