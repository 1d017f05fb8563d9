import Foundation

/// CPU time the local PostgreSQL server has used so far, read from `/proc`: every process named
/// `postgres`, and through the postmaster's children counters the backends that have exited.
/// Two readings around a round give the server's work per unit of each side, which shows where
/// a CPU-bound comparison on one machine spends its cores.
///
/// ```swift
/// let before = ServerCPU.seconds()
/// try await runRound()
/// let serverMicrosecondsPerUnit = (ServerCPU.seconds() - before) * 1e6 / Double(units)
/// ```
public enum ServerCPU {
    /// Seconds of CPU (user and system) used by the server's processes so far.
    public static func seconds() -> Double {
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        var ticks = 0.0
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries where entry.allSatisfy(\.isNumber) {
            guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")"),
                stat[stat.index(after: open)..<close] == "postgres"
            else { continue }
            // After "pid (comm) ": state, ppid, …; utime, stime, cutime and cstime are fields
            // 14–17 of the line, 11–14 counted from the state.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            for index in 11...14 where index < fields.count { ticks += Double(fields[index]) ?? 0 }
        }
        return ticks / ticksPerSecond
    }
}

/// CPU time this process (the client: all its threads) has used so far, from `getrusage`. Two
/// readings around a piece of work give its client cost, the server's excluded.
///
/// ```swift
/// let before = ClientCPU.microseconds()
/// try await runRound()
/// let clientMicrosecondsPerUnit = (ClientCPU.microseconds() - before) / Double(units)
/// ```
public enum ClientCPU {
    /// Microseconds of CPU (user and system) used by this process so far.
    public static func microseconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
    }
}
