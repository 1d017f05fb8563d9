public import Foundation
public import MireCore
public import MirePQ

extension LocalPostgresServer {
    /// A hot standby of `primary` (running), streaming its WAL: its cluster is a base backup of
    /// the primary (`pg_basebackup -R -X stream`), and its `cluster_name` is `name`, the name
    /// ``requireSynchronousStandby(_:)`` takes. Throwaway when the primary is (a new temporary
    /// directory), else kept beside the primary's directory as `<primary>-<name>`. Start it with
    /// ``start()``; stop it, like any server, by its own data directory.
    ///
    /// ```swift
    /// let primary = try LocalPostgresServer.throwaway(settings: ["synchronous_commit": "on"])
    /// _ = try await primary.start()
    /// let standby = try await LocalPostgresServer.standby(of: primary, name: "s1")
    /// let replica = try await standby.start()   // read-only until promoted
    /// ```
    public static func standby(of primary: LocalPostgresServer, name: String) async throws -> LocalPostgresServer {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw MireError(
                code: .invalidOperation, message: "a standby's name must be letters, digits and '_' (got '\(name)')",
                recovery: "name it like s1 or replica_2")
        }
        let settings = primary.settings.merging(["cluster_name": name]) { $1 }
        let standby: LocalPostgresServer
        switch primary.mode {
        case .throwaway:
            let fresh = try LocalPostgresServer.throwaway()
            standby = LocalPostgresServer(rootDirectory: fresh.rootDirectory, mode: .throwaway, settings: settings)
        case .persistent:
            let root = primary.rootDirectory.deletingLastPathComponent()
                .appending(path: primary.rootDirectory.lastPathComponent + "-" + name)
            standby = LocalPostgresServer(rootDirectory: root, mode: .persistent, settings: settings)
        }
        return try await Self.standby(of: primary, as: standby)
    }

    /// Makes `standby` (not yet created: an empty or missing directory) a hot standby of
    /// `primary` (running), as ``standby(of:name:)`` does, where the caller chose to keep it.
    /// Its `cluster_name` setting is its name for ``requireSynchronousStandby(_:)``.
    ///
    /// ```swift
    /// let replica = LocalPostgresServer.persistent(at: URL(filePath: ".mire/replica1"), settings: ["cluster_name": "replica1"])
    /// _ = try await LocalPostgresServer.standby(of: primary, as: replica)
    /// ```
    @discardableResult
    public static func standby(of primary: LocalPostgresServer, as standby: LocalPostgresServer) async throws
        -> LocalPostgresServer
    {
        guard let source = primary.runningInstance else {
            throw MireError(
                code: .localServer, message: "the primary in \(primary.rootDirectory.path) is not running",
                recovery: "start the primary before making a standby of it")
        }
        try await Self.blocking { try standby.cloneBlocking(from: source.port) }
        return standby
    }

    /// Makes commits on this primary wait until one of the standbys `names` has written their
    /// WAL (`synchronous_standby_names = 'FIRST 1 (…)'`): a standby among them that is promoted
    /// then holds every acknowledged commit. Commits also wait while none of them is connected.
    /// Needs `synchronous_commit` on (a throwaway server turns it off unless told otherwise).
    ///
    /// ```swift
    /// try await primary.requireSynchronousStandby(["s1"])
    /// ```
    public func requireSynchronousStandby(_ names: [String]) async throws {
        let list = names.map { "\"\($0)\"" }.joined(separator: ", ")
        try await alterSystem("SET synchronous_standby_names = 'FIRST 1 (\(list))'")
    }

    /// Runs `ALTER SYSTEM <change>` on this running server and reloads its configuration (a
    /// standby takes it too: `primary_conninfo`, say). `change` is spliced, and may appear in
    /// error descriptions and logs: pass only literals, never a password.
    ///
    /// ```swift
    /// try await standby.alterSystem("SET recovery_min_apply_delay = '20ms'")
    /// ```
    public func alterSystem(_ change: String) async throws {
        try await withConnection { connection in
            try await connection.query(PGQuery(unsafeSQL: "ALTER SYSTEM " + change, bindings: .init()))
            try await connection.query("SELECT pg_reload_conf()")
        }
    }

    /// Runs `body` on a connection to this running server as its superuser, closed afterwards.
    func withConnection<T>(_ body: (PGConnection) async throws -> T) async throws -> T {
        let connection = try await PGConnection.connect(
            configuration: try configuration(), logger: .init(label: "mire.local-server"))
        do {
            let result = try await body(connection)
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Promotes this standby to a primary (`pg_ctl promote`, waiting until it accepts writes).
    ///
    /// ```swift
    /// try await standby.promote()
    /// ```
    public func promote() async throws {
        try await Self.blocking {
            let tools = try ServerBinaries.locate()
            let result = try tools.run("pg_ctl", ["-D", self.dataDirectory.path, "-w", "-t", "60", "promote"])
            guard result.status == 0 else {
                throw MireError(
                    code: .localServer, message: "pg_ctl promote failed: \(result.output)",
                    recovery: "inspect \(self.logFile.path); only a running standby can be promoted")
            }
        }
    }

    /// One configuration naming every running server of `servers`, in order, which libpq tries
    /// until one takes writes (`target_session_attrs=read-write`, two seconds per host at most):
    /// what an application is given for a primary and its standbys, so that it follows a
    /// failover.
    ///
    /// ```swift
    /// let configuration = try LocalPostgresServer.writableConfiguration(among: [primary, standby])
    /// ```
    public static func writableConfiguration(among servers: [LocalPostgresServer], database: String = "postgres")
        throws -> PGConfiguration
    {
        let ports = servers.compactMap { $0.runningInstance?.port }
        guard let first = servers.first(where: { $0.isRunning }) else {
            throw MireError(
                code: .localServer, message: "none of the \(servers.count) servers is running",
                recovery: "start the primary and its standbys first")
        }
        var configuration = try first.configuration(database: database)
        configuration.keywords["host"] = ports.map { _ in "127.0.0.1" }.joined(separator: ",")
        configuration.keywords["port"] = ports.map(String.init).joined(separator: ",")
        configuration.keywords["target_session_attrs"] = "read-write"
        configuration.connectTimeoutSeconds = 2
        return configuration
    }

    /// Where this stopped server's last checkpoint is (`pg_controldata`'s "Latest checkpoint
    /// location"): after a clean stop, the end of everything it wrote but that record.
    func latestCheckpointLocation() async throws -> String {
        try await Self.blocking {
            // In the C locale: translated labels would not parse.
            let result = try ServerBinaries.locate().run(
                "pg_controldata", [self.dataDirectory.path], environment: ["LC_ALL=C"])
            let lines = result.output.split(separator: "\n")
            let state = lines.first { $0.hasPrefix("Database cluster state:") }
            let line = lines.first { $0.hasPrefix("Latest checkpoint location:") }
            guard result.status == 0, state?.hasSuffix("shut down") == true,
                let location = line?.split(separator: " ").last,
                location.contains("/"), location.allSatisfy({ $0.isHexDigit || $0 == "/" })
            else {
                throw MireError(
                    code: .localServer,
                    message: "pg_controldata did not report a clean shutdown and its checkpoint: \(result.output)",
                    recovery: "inspect \(self.dataDirectory.path)")
            }
            return String(location)
        }
    }

    /// Copies the primary on `port` into this server's data directory.
    private func cloneBlocking(from port: Int) throws {
        let tools = try ServerBinaries.locate()
        let fileManager = FileManager.default
        try fileManager.createDirectory(at: rootDirectory, withIntermediateDirectories: true)
        try fileManager.createDirectory(at: socketDirectory, withIntermediateDirectories: true)
        try tools.handOver(rootDirectory)
        guard !fileManager.fileExists(atPath: dataDirectory.appending(path: "PG_VERSION").path) else { return }
        let backup = try tools.run(
            "pg_basebackup",
            [
                "-h", "127.0.0.1", "-p", "\(port)", "-U", Self.superuser, "-D", dataDirectory.path, "-R", "-X",
                "stream", "-c", "fast", "--no-sync",
            ])
        guard backup.status == 0 else {
            throw MireError(
                code: .localServer, message: "pg_basebackup failed: \(backup.output)",
                recovery: "check that the primary allows replication connections from 127.0.0.1 (pg_hba.conf)")
        }
    }

    /// Runs `work` on a Dispatch thread (it waits on programs), not on the cooperative pool.
    static func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }
}
