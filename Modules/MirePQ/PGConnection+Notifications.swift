internal import CLibPQ
import Foundation

/// A message sent with `NOTIFY channel, 'payload'` (or `pg_notify`).
///
/// ```swift
/// for await notification in listener.notifications {
///     print(notification.channel, notification.payload)
/// }
/// ```
public struct PGNotification: Sendable, Hashable {
    /// The channel it was sent on.
    public let channel: String
    /// The payload text (empty when none was given).
    public let payload: String
    /// The backend process id of the sender.
    public let senderPID: Int32
}

extension PGConnection {
    /// Waits up to `timeout` for notifications on channels this connection listens to, and
    /// returns those that arrived (possibly none). Blocks this connection's own thread only.
    ///
    /// ```swift
    /// try await connection.query("LISTEN \(identifier: "jobs")")
    /// let arrived = try await connection.waitForNotifications(timeout: .milliseconds(250))
    /// ```
    public func waitForNotifications(timeout: Duration) throws -> [PGNotification] {
        guard !handle.isBroken else { throw PGError(code: .connectionLost, message: "the connection is broken") }
        let connection = handle.pointer
        var notifications = drainNotifications()
        if !notifications.isEmpty { return notifications }
        let milliseconds = Int32(clamping: max(0, timeout.wholeMilliseconds))
        var descriptor = pollfd(fd: PQsocket(connection), events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, milliseconds)
        if ready > 0 {
            guard PQconsumeInput(connection) == 1, !handle.isBroken else {
                throw PGError(
                    code: .connectionLost, message: "the listening connection was lost: \(handle.errorMessage)")
            }
            notifications = drainNotifications()
        }
        return notifications
    }

    private func drainNotifications() -> [PGNotification] {
        var notifications: [PGNotification] = []
        while let notify = PQnotifies(handle.pointer) {
            let value = notify.pointee
            notifications.append(
                PGNotification(
                    channel: String(cString: value.relname),
                    payload: value.extra.map { String(cString: $0) } ?? "",
                    senderPID: value.be_pid
                )
            )
            PQfreemem(notify)
        }
        return notifications
    }
}
