public import Foundation
public import MireCore
public import MirePQ
import Synchronization

/// A private PostgreSQL cluster started from the installed server binaries.
///
/// It listens on a free loopback port with a private socket directory, and is stopped by its own
/// data directory, never by process name. When the process runs as root (CI, containers) the
/// server runs as the `postgres` OS user, because PostgreSQL refuses to run as root.
///
/// ```swift
/// // For tests: a fresh cluster, deleted when stopped (or when this process exits).
/// let server = try LocalPostgresServer.throwaway()
/// let configuration = try await server.start()
/// defer { try? server.stop() }
///
/// // For an app: data kept across runs in ./.mire/postgres.
/// let embedded = LocalPostgresServer.persistent(at: URL(filePath: ".mire/postgres"))
/// ```
public final class LocalPostgresServer: Sendable {
    /// Whether the cluster outlives a stop.
    public enum Mode: Sendable, Hashable {
        /// Data kept across starts and stops (the bank app's embedded default).
        case persistent
        /// A fresh cluster, deleted on ``LocalPostgresServer/stop()`` and when the starting
        /// process exits.
        case throwaway
    }

    /// Where the cluster lives: `data/` (the cluster), `socket/`, `server.log`.
    public let rootDirectory: URL
    /// Persistent or throwaway.
    public let mode: Mode
    /// Server settings passed with `-c` (e.g. `max_connections`).
    public let settings: [String: String]

    /// The cluster's data directory.
    public var dataDirectory: URL { rootDirectory.appending(path: "data") }
    var socketDirectory: URL { rootDirectory.appending(path: "socket") }
    var logFile: URL { rootDirectory.appending(path: "server.log") }

    private let watchdogInstalled = Atomic(false)

    /// The superuser created by `initdb`; trusted on loopback only.
    public static let superuser = "postgres"

    init(rootDirectory: URL, mode: Mode, settings: [String: String]) {
        self.rootDirectory = rootDirectory
        self.mode = mode
        self.settings = settings
    }

    /// A server whose data is kept in `directory` across starts, stops and processes.
    ///
    /// ```swift
    /// let server = LocalPostgresServer.persistent(at: URL(filePath: ".mire/postgres"))
    /// ```
    public static func persistent(at directory: URL, settings: [String: String] = [:]) -> LocalPostgresServer {
        LocalPostgresServer(rootDirectory: directory.standardizedFileURL, mode: .persistent, settings: settings)
    }

    /// A fresh server in a new temporary directory, tuned for tests (no fsync, more connections).
    /// Never use these settings for data you want to keep or for durability benchmarks.
    ///
    /// ```swift
    /// let server = try LocalPostgresServer.throwaway()
    /// ```
    public static func throwaway(settings: [String: String] = [:]) throws(MireError) -> LocalPostgresServer {
        let template = FileManager.default.temporaryDirectory.appending(path: "mire-pg-XXXXXX").path
        var buffer = Array(template.utf8CString)
        guard mkdtemp(&buffer) != nil else {
            throw MireError(
                code: .localServer,
                message: "could not create a temporary directory under \(template)",
                recovery: "check that the temporary directory is writable"
            )
        }
        let path = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let testSettings = [
            "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "300",
        ]
        return LocalPostgresServer(
            rootDirectory: URL(filePath: path),
            mode: .throwaway,
            settings: testSettings.merging(settings) { $1 }
        )
    }

    /// The running server's process id and port, read from `postmaster.pid`; nil when stopped.
    public var runningInstance: (pid: Int32, port: Int)? {
        guard let text = try? String(contentsOf: dataDirectory.appending(path: "postmaster.pid"), encoding: .utf8)
        else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        // A pid of 0 or -1 would make kill() probe a whole process group: the file is damaged.
        guard lines.count > 3, let pid = Int32(lines[0]), pid > 0, let port = Int(lines[3]), (1...65535).contains(port)
        else { return nil }
        guard kill(pid, 0) == 0 || errno == EPERM else { return nil }
        return (pid, port)
    }

    /// Whether this server is running.
    public var isRunning: Bool { runningInstance != nil }

    /// How to connect to the running server as its superuser, to `database`.
    ///
    /// ```swift
    /// let configuration = try server.configuration(database: "postgres")
    /// ```
    public func configuration(database: String = "postgres") throws(MireError) -> PGConfiguration {
        guard let instance = runningInstance else {
            throw MireError(
                code: .localServer,
                message: "the local server in \(rootDirectory.path) is not running",
                recovery: "start it first (mire-bank db start)"
            )
        }
        return PGConfiguration(host: "127.0.0.1", port: instance.port, user: Self.superuser, database: database)
    }

    /// Starts the server (initialising the cluster first if needed) and returns how to reach it.
    /// A persistent server that is already running is reused. The blocking work runs on a
    /// Dispatch thread, not on the cooperative pool.
    public func start() async throws -> PGConfiguration {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try self.startBlocking() })
            }
        }
    }

    /// How a server is stopped (`pg_ctl stop -m …`).
    public enum StopMode: String, Sendable {
        /// Disconnect clients, then shut down cleanly.
        case fast
        /// Stop at once, as a crash would: the next start runs crash recovery.
        case immediate
    }

    /// Stops the server if it runs; a throwaway server's directory is deleted too. (From async
    /// code, ``shutDown(mode:)`` keeps the cooperative pool free.)
    ///
    /// ```swift
    /// try server.stop()
    /// ```
    public func stop(mode stopMode: StopMode = .fast) throws(MireError) {
        try shutDownBlocking(mode: stopMode)
        if mode == .throwaway { try? FileManager.default.removeItem(at: rootDirectory) }
    }

    /// Stops the server (as a crash would, with `.immediate`) and starts it again on the same
    /// port, keeping its data, throwaway or not. For failure tests and the chaos demo.
    ///
    /// ```swift
    /// try await server.restart(mode: .immediate)
    /// ```
    @discardableResult
    public func restart(mode stopMode: StopMode = .fast) async throws -> PGConfiguration {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(
                    with: Result {
                        try self.shutDownBlocking(mode: stopMode)
                        return try self.startBlocking()
                    })
            }
        }
    }

    /// Stops the server, from async code: `pg_ctl` waits on a Dispatch thread, not on the
    /// cooperative pool. Its data stays (a throwaway server's too, until ``stop(mode:)``): a
    /// failover test's crashed primary, a planned switchover's old primary.
    ///
    /// ```swift
    /// try await primary.shutDown(mode: .immediate)   // as a crash would
    /// ```
    public func shutDown(mode stopMode: StopMode = .fast) async throws {
        try await Self.blocking { try self.shutDownBlocking(mode: stopMode) }
    }

    private func shutDownBlocking(mode stopMode: StopMode) throws(MireError) {
        let tools = try ServerBinaries.locate()
        if isRunning {
            let result = try tools.run("pg_ctl", ["-D", dataDirectory.path, "-m", stopMode.rawValue, "-w", "stop"])
            if result.status != 0 && isRunning {
                throw MireError(
                    code: .localServer,
                    message: "pg_ctl stop failed: \(result.output)",
                    recovery: "inspect \(logFile.path)"
                )
            }
        }
    }

    private func startBlocking() throws -> PGConfiguration {
        if isRunning { return try configuration() }
        let tools = try ServerBinaries.locate()
        let fileManager = FileManager.default
        try fileManager.createDirectory(at: rootDirectory, withIntermediateDirectories: true)
        try fileManager.createDirectory(at: socketDirectory, withIntermediateDirectories: true)
        try tools.handOver(rootDirectory)

        if !fileManager.fileExists(atPath: dataDirectory.appending(path: "PG_VERSION").path) {
            let initdb = try tools.run(
                "initdb",
                [
                    "-D", dataDirectory.path, "-U", Self.superuser, "--auth=trust", "--encoding=UTF8",
                    "--locale=C", "--no-sync",
                ]
            )
            guard initdb.status == 0 else {
                throw MireError(
                    code: .localServer,
                    message: "initdb failed: \(initdb.output)",
                    recovery: "check that \(rootDirectory.path) is writable by the server's OS user"
                )
            }
        }

        var lastFailure = ""
        // A persistent server comes back on its previous port when it can, so clients keep
        // their configuration across restarts.
        let portFile = rootDirectory.appending(path: "port")
        let previousPort = (try? String(contentsOf: portFile, encoding: .utf8)).flatMap {
            Int($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        for attempt in 0..<5 {
            let port: Int
            if attempt == 0, let previousPort, FreePort.isFree(previousPort) {
                port = previousPort
            } else {
                port = try FreePort.find()
            }
            var options = ["-p \(port)", "-c listen_addresses=127.0.0.1"]
            // Unix socket paths are limited to ~107 bytes; without room, use TCP only.
            let socketPath = socketDirectory.path
            options.append(
                socketPath.utf8.count < 90
                    ? "-c unix_socket_directories='\(socketPath)'" : "-c unix_socket_directories=''"
            )
            for (key, value) in settings.sorted(by: { $0.key < $1.key }) { options.append("-c \(key)=\(value)") }
            let start = try tools.run(
                "pg_ctl",
                [
                    "-D", dataDirectory.path, "-l", logFile.path, "-o", options.joined(separator: " "), "-w", "-t",
                    "60", "start",
                ]
            )
            if start.status == 0, isRunning {
                if mode == .throwaway && !watchdogInstalled.exchange(true, ordering: .relaxed) {
                    StopWhenParentExits.install(server: self, tools: tools)
                }
                try? String(port).write(to: portFile, atomically: true, encoding: .utf8)
                return try configuration()
            }
            lastFailure =
                start.output + "\n" + Self.tail(of: logFile, bytes: 2000)
        }
        throw MireError(
            code: .localServer,
            message: "the server did not start: \(lastFailure)",
            recovery: "inspect \(logFile.path)"
        )
    }
}

extension LocalPostgresServer {
    /// The last `bytes` of a file (the server's log grows for as long as the server lives).
    static func tail(of file: URL, bytes: Int) -> String {
        guard let handle = try? FileHandle(forReadingFrom: file) else { return "" }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd() else { return "" }
        try? handle.seek(toOffset: size > UInt64(bytes) ? size - UInt64(bytes) : 0)
        return String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
    }
}
