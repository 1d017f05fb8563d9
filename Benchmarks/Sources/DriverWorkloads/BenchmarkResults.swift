import Foundation

/// Where the benchmark programs leave their figures as JSON: `results/NAME.json` under the
/// working directory (or `MIRE_BENCH_RESULTS`), read by `render-charts`.
public enum BenchmarkResults {
    /// The results directory.
    public static var directory: URL {
        URL(filePath: ProcessInfo.processInfo.environment["MIRE_BENCH_RESULTS"] ?? "results")
    }

    /// Writes `value` as pretty JSON to `results/NAME.json`.
    public static func write<T: Encodable>(_ value: T, as name: String) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let file = directory.appending(path: "\(name).json")
        try encoder.encode(value).write(to: file)
        print("results written to \(file.path)")
    }

    /// Reads `results/NAME.json`.
    public static func read<T: Decodable>(_ type: T.Type, name: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: directory.appending(path: "\(name).json")))
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
