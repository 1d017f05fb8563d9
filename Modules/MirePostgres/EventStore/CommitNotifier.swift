import Logging
import MirePQ
import Synchronization

/// Sends the projection wake-up (`pg_notify`) after commits: coalesced, in the background, on a
/// connection of its own.
///
/// A NOTIFY inside the append transaction would serialise every committing writer on a
/// database-wide lock held through the WAL flush (measured here: 16 writers fell from 10,100 to
/// 2,600 commits/s). So the writing process sends it after the commit. It never takes a
/// connection from the pool (a caller would wait for it), and it sends at most one per
/// ``window``: saves that land meanwhile share the next one.
final class CommitNotifier: Sendable {
    private struct State {
        var running = false
        var pending = false
        var connection: PostgresConnection?
    }

    let channel: String
    let configuration: PostgresConfiguration
    /// The shortest time between two wake-ups.
    let window: Duration
    let logger: Logger
    private let state = Mutex(State())

    init(channel: String, configuration: PostgresConfiguration, window: Duration = .milliseconds(10), logger: Logger) {
        self.channel = channel
        self.configuration = configuration
        self.window = window
        self.logger = logger
    }

    /// Schedules a wake-up; returns at once.
    func poke() {
        let start = state.withLock { state -> Bool in
            state.pending = true
            if state.running { return false }
            state.running = true
            return true
        }
        guard start else { return }
        Task.detached(priority: .utility) { [self] in await drain() }
    }

    /// Sends wake-ups while saves keep asking, one per window.
    private func drain() async {
        while state.withLock({ state in
            if state.pending {
                state.pending = false
                return true
            }
            state.running = false
            return false
        }) {
            await send()
            try? await Task.sleep(for: window)
        }
    }

    /// One `pg_notify`. A hint only: if it fails (server gone), pollers still catch up, and the
    /// next wake-up opens a new connection.
    private func send() async {
        do {
            let connection: PostgresConnection
            if let open = state.withLock({ $0.connection }), open.isIdle {
                connection = open
            } else {
                connection = try await PostgresConnection.connect(configuration: configuration, logger: logger)
                state.withLock { $0.connection = connection }
            }
            try await connection.query("SELECT pg_notify(\(channel), '')", prepared: true)
        } catch {
            logger.debug("wake-up not sent", metadata: ["error": "\(error)"])
        }
    }
}
