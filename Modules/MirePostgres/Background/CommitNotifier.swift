import Logging
import MirePQ
import Synchronization

/// Sends the projection wake-up (`pg_notify`) after commits: coalesced, in the store's
/// background work, on a connection of its own.
///
/// A NOTIFY inside the append transaction would serialise every committing writer on a
/// database-wide lock held through the WAL flush (measured here: 16 writers fell from 10,100 to
/// 2,600 commits/s). So the writing process sends it after the commit. It never takes a
/// connection from the pool (a caller would wait for it), and it sends at most one per
/// ``window``: saves that land meanwhile share the next one. Wake-ups are sent while the store
/// runs (``EventStore/run()``); without it, projections find new events by polling.
final class CommitNotifier: Sendable {
    let channel: String
    let configuration: PGConfiguration
    /// The shortest time between two wake-ups.
    let window: Duration
    let logger: Logger
    /// One job at most waits here: a wake-up asked for while one is sent or its window runs.
    let queue = BackgroundQueue()
    private let connection = Mutex<PGConnection?>(nil)

    init(channel: String, configuration: PGConfiguration, window: Duration = .milliseconds(10), logger: Logger) {
        self.channel = channel
        self.configuration = configuration
        self.window = window
        self.logger = logger
    }

    /// Asks for a wake-up; returns at once.
    func poke() {
        _ = queue.submit(key: "wake-up") { [self] in
            await send()
            try? await Task.sleep(for: window)
        }
    }

    /// Closes the notifier's connection (after the queue stopped).
    func close() async {
        let open = connection.withLock { connection in
            defer { connection = nil }
            return connection
        }
        await open?.close()
    }

    /// One `pg_notify`. A hint only: if it fails (server gone), pollers still catch up, and the
    /// next wake-up opens a new connection.
    private func send() async {
        do {
            let open: PGConnection
            if let idle = connection.withLock({ $0 }), idle.isIdle {
                open = idle
            } else {
                open = try await PGConnection.connect(configuration: configuration, logger: logger)
                let replaced = connection.withLock { connection in
                    defer { connection = open }
                    return connection
                }
                await replaced?.close()
            }
            try await open.query("SELECT pg_notify(\(channel), '')", prepared: true)
        } catch {
            logger.debug("wake-up not sent", metadata: ["error": "\(error)"])
        }
    }
}
