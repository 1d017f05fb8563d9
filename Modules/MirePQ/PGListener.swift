public import Logging
public import ServiceLifecycle
import Synchronization

/// A connection that listens on channels and yields each notification, reconnecting after a
/// connection loss and listening again.
///
/// Notifications are hints, not a log: one sent while the listener is reconnecting is lost
/// (PostgreSQL does not queue them for absent listeners). Use them to wake up, then read the
/// truth from a table.
///
/// ```swift
/// let listener = PGListener(configuration: config, channels: ["mire_events"], logger: logger)
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { try await listener.run() }
///     for await notification in listener.notifications {
///         print(notification.channel, notification.payload)
///     }
/// }
/// ```
public final class PGListener: Service, Sendable {
    /// Every notification received, in arrival order. Finishes when ``run()`` returns.
    public let notifications: AsyncStream<PGNotification>
    /// The channels listened to.
    public let channels: [String]
    let configuration: PGConfiguration
    let pollInterval: Duration
    let reconnectDelay: Duration
    let logger: Logger
    private let continuation: AsyncStream<PGNotification>.Continuation
    private let sessions = Mutex(0)
    private let onListening: (@Sendable () -> Void)?

    /// A listener on `channels`. It connects when ``run()`` starts.
    ///
    /// - Parameters:
    ///   - pollInterval: how often the listening thread checks for cancellation while idle.
    ///   - reconnectDelay: the pause between reconnection attempts.
    ///   - onListening: called each time a connection starts listening (first time and after
    ///     each reconnection): the moment to re-read whatever the notifications stand for.
    public init(
        configuration: PGConfiguration,
        channels: [String],
        pollInterval: Duration = .milliseconds(200),
        reconnectDelay: Duration = .milliseconds(250),
        logger: Logger,
        onListening: (@Sendable () -> Void)? = nil
    ) {
        self.onListening = onListening
        self.configuration = configuration
        self.channels = channels
        self.pollInterval = pollInterval
        self.reconnectDelay = reconnectDelay
        self.logger = logger
        (notifications, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(10_000))
    }

    /// How many times a connection was opened and put to listening (1 after the first, +1 per
    /// reconnection).
    public var listeningSessions: Int { sessions.withLock { $0 } }

    /// Listens until the task is cancelled or graceful shutdown is triggered.
    public func run() async throws {
        defer { continuation.finish() }
        await cancelWhenGracefulShutdown {
            await self.listenUntilCancelled()
        }
    }

    private func listenUntilCancelled() async {
        while !Task.isCancelled {
            var connection: PGConnection?
            do {
                let opened = try await PGConnection.connect(configuration: configuration, logger: logger)
                connection = opened
                for channel in channels {
                    try await opened.query("LISTEN \(identifier: channel)")
                }
                sessions.withLock { $0 += 1 }
                onListening?()
                logger.debug("listening", metadata: ["channels": "\(channels)"])
                while !Task.isCancelled {
                    for notification in try await opened.waitForNotifications(timeout: pollInterval) {
                        continuation.yield(notification)
                    }
                }
            } catch {
                logger.debug("listener connection lost; reconnecting", metadata: ["error": "\(error)"])
                await connection?.close()
                try? await Task.sleep(for: reconnectDelay.atMostADay)
                continue
            }
            await connection?.close()
        }
    }
}
