import Foundation

/// Runs `pgbench` (from the server's `pg_config --bindir`) against the benchmark server: the
/// database's own figure for a statement, to put beside the library's.
public struct PGBench: Sendable {
    /// The libpq conninfo of the server.
    public let conninfo: String
    let executable: String

    /// A runner for the server at `conninfo`; fails when pgbench cannot be found.
    public init(conninfo: String) throws {
        self.conninfo = conninfo
        let candidates =
            [ProcessInfo.processInfo.environment["MIRE_PG_BINDIR"], Self.bindir(), "/usr/lib/postgresql/15/bin"]
            .compactMap { $0 }.map { $0 + "/pgbench" }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw BenchmarkFailure("pgbench not found (install postgresql-contrib or the server package)")
        }
        executable = found
    }

    /// Transactions per second of `script` with `clients` clients for `seconds`, prepared
    /// statements, `variables` defined for every client (`-D`).
    public func transactionsPerSecond(
        script: String, clients: Int, seconds: Int, variables: [String: String] = [:]
    ) throws -> Double {
        let file = FileManager.default.temporaryDirectory.appending(path: "mire-pgbench-\(UUID().uuidString).sql")
        try script.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        var arguments = [
            "-n", "-M", "prepared", "-c", String(clients), "-j", String(min(clients, 2)), "-T", String(seconds),
            "-f", file.path,
        ]
        for (name, value) in variables.sorted(by: { $0.key < $1.key }) { arguments += ["-D", "\(name)=\(value)"] }
        arguments.append(conninfo)
        let output = try Self.run(executable, arguments)
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("tps = ") }),
            let value = Double(line.dropFirst(6).prefix { $0 != " " })
        else {
            throw BenchmarkFailure("pgbench printed no tps:\n\(output)")
        }
        if let failed = output.split(separator: "\n").first(where: { $0.contains("number of failed transactions") }),
            !failed.contains(": 0 ")
        {
            throw BenchmarkFailure("pgbench had failed transactions: \(failed)")
        }
        return value
    }

    private static func bindir() -> String? {
        try? run("/usr/bin/env", ["pg_config", "--bindir"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs a program to completion, output captured in a file. Spawned with an empty signal
    /// mask: pgbench's `-T` timer is a SIGALRM, which the threads of a Swift process block.
    private static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let outputPath = FileManager.default.temporaryDirectory.appending(path: "mire-bench-\(UUID().uuidString).log")
            .path
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, executable, &actions, &attributes, argv, environ)
        guard spawned == 0 else { throw BenchmarkFailure("could not start \(executable): errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw BenchmarkFailure("waitpid failed: errno \(errno)") }
        }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard status == 0 else { throw BenchmarkFailure("\(executable) failed (status \(status)): \(output)") }
        return output
    }
}

/// A benchmark could not run.
public struct BenchmarkFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
