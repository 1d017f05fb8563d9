import Foundation
import MireCore

/// The installed PostgreSQL server programs, and how to run them (as `postgres` when we are root).
struct ServerBinaries: Sendable {
    let binDirectory: URL
    /// When running as root, the server tools run through `runuser -u postgres --`.
    let runAsPostgres: Bool

    static func locate() throws(MireError) -> ServerBinaries {
        try locate(candidates: defaultCandidates())
    }

    /// Where server programs are usually installed, most specific first.
    static func defaultCandidates() -> [String] {
        let fileManager = FileManager.default
        var candidates: [String] = []
        if let override = ProcessInfo.processInfo.environment["MIRE_PG_BINDIR"] { candidates.append(override) }
        if let fromPGConfig = try? ChildProcess.run("/usr/bin/env", ["pg_config", "--bindir"]), fromPGConfig.status == 0
        {
            candidates.append(fromPGConfig.output.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        // Debian keeps each major version apart; prefer the newest.
        let versions = (try? fileManager.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            candidates.append("/usr/lib/postgresql/\(version)/bin")
        }
        candidates.append(contentsOf: ["/usr/local/pgsql/bin", "/usr/local/bin", "/usr/bin"])
        return candidates
    }

    /// The first of `candidates` that holds `initdb` and `pg_ctl`.
    static func locate(candidates: [String]) throws(MireError) -> ServerBinaries {
        let fileManager = FileManager.default
        guard
            let directory = candidates.first(where: {
                fileManager.isExecutableFile(atPath: $0 + "/initdb")
                    && fileManager.isExecutableFile(atPath: $0 + "/pg_ctl")
            })
        else {
            throw MireError(
                code: .localServer,
                message: "the PostgreSQL server programs (initdb, pg_ctl) were not found",
                recovery:
                    "install the server: `apt-get install postgresql` on Debian/Ubuntu (with libpq-dev), "
                    + "`dnf install postgresql-server` on Fedora; or set MIRE_PG_BINDIR to their directory"
            )
        }
        let isRoot = getuid() == 0
        if isRoot && getpwnam("postgres") == nil {
            throw MireError(
                code: .localServer,
                message: "running as root, but there is no 'postgres' OS user to run the server as",
                recovery: "PostgreSQL refuses to run as root; install the postgresql package (it creates the user)"
            )
        }
        return ServerBinaries(binDirectory: URL(filePath: directory), runAsPostgres: isRoot)
    }

    /// Runs a server program and returns its exit status and combined output. `environment`
    /// (`NAME=value`) is set for it, e.g. `LC_ALL=C` for output to parse.
    func run(_ tool: String, _ arguments: [String], environment: [String] = []) throws(MireError) -> (
        status: Int32, output: String
    ) {
        let path = binDirectory.appending(path: tool).path
        do {
            if runAsPostgres {
                return try ChildProcess.run(
                    "/usr/bin/env",
                    ["runuser", "-u", "postgres", "--", "/usr/bin/env"] + environment + [path] + arguments)
            }
            if !environment.isEmpty { return try ChildProcess.run("/usr/bin/env", environment + [path] + arguments) }
            return try ChildProcess.run(path, arguments)
        } catch {
            throw MireError(code: .localServer, message: "could not run \(tool): \(error)", underlying: error)
        }
    }

    /// Gives `directory` (recursively) to the server's OS user, when we run as root.
    func handOver(_ directory: URL) throws(MireError) {
        guard runAsPostgres else { return }
        let result: (status: Int32, output: String)
        do {
            result = try ChildProcess.run("/usr/bin/env", ["chown", "-R", "postgres:postgres", directory.path])
        } catch {
            throw MireError(code: .localServer, message: "could not run chown: \(error)", underlying: error)
        }
        guard result.status == 0 else {
            throw MireError(
                code: .localServer,
                message: "could not give \(directory.path) to the postgres user: \(result.output)",
                recovery: "choose a directory on a local file system"
            )
        }
        // The server must be able to reach its directory through every parent.
        var parent = directory.deletingLastPathComponent()
        while parent.path != "/" {
            if access(parent.path, X_OK) == 0,
                let attributes = try? FileManager.default.attributesOfItem(atPath: parent.path),
                let permissions = attributes[.posixPermissions] as? Int, permissions & 0o001 == 0
            {
                throw MireError(
                    code: .localServer,
                    message: "\(parent.path) is not searchable by other users, so the postgres user cannot reach "
                        + directory.path,
                    recovery:
                        "put the data directory elsewhere (e.g. under /tmp or /var/lib) or chmod o+x \(parent.path)"
                )
            }
            parent = parent.deletingLastPathComponent()
        }
    }
}
