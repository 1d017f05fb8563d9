import Foundation

/// Stops a throwaway server when the process that started it exits, however it exits
/// (normal exit, crash, SIGKILL): a small shell watchdog polls our pid and then stops the
/// server by its data directory and deletes it.
enum StopWhenParentExits {
    static func install(server: LocalPostgresServer, tools: ServerBinaries) {
        let pgCtl = tools.binDirectory.appending(path: "pg_ctl").path
        let stop =
            (tools.runAsPostgres ? "runuser -u postgres -- " : "")
            + "\(quoted(pgCtl)) -D \(quoted(server.dataDirectory.path)) -m immediate -w stop"
        let script =
            "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; "
            + "\(stop) >/dev/null 2>&1; rm -rf \(quoted(server.rootDirectory.path))"
        // The outer shell returns at once; the watchdog lives on in the background, in its own
        // session so that signals sent to our process group do not reach it.
        _ = try? ChildProcess.run("/bin/sh", ["-c", "setsid sh -c \(quoted(script)) >/dev/null 2>&1 &"])
    }

    private static func quoted(_ text: String) -> String {
        "'" + text.replacing("'", with: "'\\''") + "'"
    }
}
