public import Logging

/// How `mire-bank-server` is configured: by environment, as a container or a process manager
/// sets it.
///
/// | Variable | Meaning | Default |
/// | --- | --- | --- |
/// | `MIRE_DATABASE_URL` | the PostgreSQL URL (required) | — |
/// | `MIRE_BANK_HOST` | the address to listen on | `127.0.0.1` |
/// | `MIRE_BANK_PORT` | the port (`0`: any free one, printed at start) | `8080` |
/// | `MIRE_BANK_POOL_SIZE` | the most connections the store opens | `8` |
/// | `MIRE_WORKER_ID` | this replica's name in the projection lease | `mire-bank-server-PID` |
/// | `MIRE_BANK_SHUTDOWN_SECONDS` | how long a graceful shutdown may take before it is cancelled | `30` |
/// | `LOG_LEVEL` | `trace` … `critical` | `info` |
///
/// ```swift
/// let configuration = try BankServerConfiguration(environment: ["MIRE_DATABASE_URL": "postgresql://localhost/bank"])
/// ```
public struct BankServerConfiguration: Sendable, Equatable {
    public var databaseURL: String
    public var host: String
    public var port: Int
    public var poolSize: Int
    public var workerID: String
    public var shutdownTimeout: Duration
    public var logLevel: Logger.Level

    /// A refused setting: which variable, and what it must hold.
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public var variable: String
        public var description: String
    }

    /// Reads the settings from `environment`; an absent or malformed variable is `Invalid`.
    public init(environment: [String: String], processID: Int32 = 0) throws(Invalid) {
        func value(_ name: String) -> String? {
            environment[name].flatMap { $0.isEmpty ? nil : $0 }
        }
        func integer(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws(Invalid) -> Int {
            guard let text = value(name) else { return fallback }
            guard let number = Int(text), range.contains(number) else {
                throw Invalid(variable: name, description: "\(name) must be a whole number in \(range), not '\(text)'")
            }
            return number
        }
        guard let url = value("MIRE_DATABASE_URL") else {
            throw Invalid(
                variable: "MIRE_DATABASE_URL",
                description: "MIRE_DATABASE_URL is not set; give the PostgreSQL URL, e.g. postgresql://localhost/bank")
        }
        databaseURL = url
        host = value("MIRE_BANK_HOST") ?? "127.0.0.1"
        port = try integer("MIRE_BANK_PORT", default: 8080, in: 0...65535)
        poolSize = try integer("MIRE_BANK_POOL_SIZE", default: 8, in: 1...1000)
        workerID = value("MIRE_WORKER_ID") ?? "mire-bank-server-\(processID)"
        shutdownTimeout = .seconds(try integer("MIRE_BANK_SHUTDOWN_SECONDS", default: 30, in: 1...3600))
        if let level = value("LOG_LEVEL") {
            guard let parsed = Logger.Level(rawValue: level) else {
                let levels = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                throw Invalid(variable: "LOG_LEVEL", description: "LOG_LEVEL must be one of \(levels), not '\(level)'")
            }
            logLevel = parsed
        } else {
            logLevel = .info
        }
    }
}
