import MirePQ
import Benchmark
import DriverWorkloads
import Logging
import MirePostgres

// Each workload twice, "Mire" and "libpq", on the same throwaway durable server; the table the
// benchmark prints puts them side by side. `swift run -c release driver-ratios` prints ratios.
nonisolated(unsafe) var mire: MireWorkloads!
nonisolated(unsafe) var raw: RawLibPQ!

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput],
        warmupIterations: 5,
        maxDuration: .seconds(5),
        maxIterations: 2000
    )
    Benchmark.setup = {
        let configuration = try await BenchmarkServer.start()
        mire = MireWorkloads(
            connection: try await PGConnection.connect(
                configuration: configuration, logger: Logger(label: "bench")))
        raw = try RawLibPQ(conninfo: BenchmarkServer.conninfo(configuration))
        try await mire.resetTable()
    }

    Benchmark("Mire · SELECT 1") { benchmark in
        for _ in benchmark.scaledIterations { try await mire.selectOne() }
    }
    Benchmark("libpq · SELECT 1") { benchmark in
        for _ in benchmark.scaledIterations { try raw.selectOne() }
    }
    Benchmark("Mire · 1000 inserts one by one", configuration: .init(maxIterations: 10)) { _ in
        try await mire.insertOneByOne(1000)
    }
    Benchmark("libpq · 1000 inserts one by one", configuration: .init(maxIterations: 10)) { _ in
        try raw.insertOneByOne(1000)
    }
    Benchmark("Mire · 1000 inserts pipelined") { _ in try await mire.insertPipelined(1000) }
    Benchmark("libpq · 1000 inserts pipelined") { _ in try raw.insertPipelined(1000) }
    Benchmark("Mire · 1000 rows array insert") { _ in try await mire.insertArray(1000) }
    Benchmark("libpq · 1000 rows array insert") { _ in try raw.insertArray(1000) }
}
