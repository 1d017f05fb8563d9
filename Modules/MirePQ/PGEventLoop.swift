internal import CLibPQ
import Foundation
import Synchronization

/// One thread, parked in `epoll_wait`, that reads the replies of statements their callers sent
/// themselves (see ``PGConnection/query(_:prepared:)``): a caller's task sends without blocking
/// and suspends; this thread wakes when the reply arrives and resumes it. A statement then costs
/// one thread hand-off instead of two (to the connection's own thread and back), and this thread
/// serves every connection of the process.
///
/// Each wait is one-shot: `ready` runs once, on this thread, when the socket becomes readable (or
/// writable, when asked), hangs up or fails; whoever waits arms it again for more. It is never
/// stopped: like a Dispatch worker it lives as long as the process, idle in the kernel.
///
/// ```swift
/// guard PGEventLoop.shared.whenReady(socket, writable: false, { readReply() }) else { abandon() }
/// ```
final class PGEventLoop: Sendable {
    /// The loop of the process, started on first use.
    static let shared = PGEventLoop()

    /// Replies read here so far (a statement sent by its caller counts once): how tests and
    /// benchmarks see which path statements took.
    let repliesRead = Atomic<Int>(0)

    private let epoll: Int32
    /// What runs when each armed socket is ready.
    private let waiting = Mutex<[Int32: @Sendable () -> Void]>([:])

    private init() {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epoll >= 0, "epoll_create1 failed: \(errno)")
        let thread = Thread { self.run() }
        thread.name = "mire.postgres.replies"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Runs `ready` on the loop's thread once `socket` is readable (or writable, with
    /// `writable`), hung up or failed. A socket has at most one wait at a time. False, and
    /// `ready` never runs, when the kernel would not watch the socket (out of watches or memory).
    func whenReady(_ socket: Int32, writable: Bool, _ ready: @escaping @Sendable () -> Void) -> Bool {
        waiting.withLock { $0[socket] = ready }
        let wanted = EPOLLIN.rawValue | EPOLLONESHOT.rawValue | (writable ? EPOLLOUT.rawValue : 0)
        var event = epoll_event(events: wanted, data: epoll_data_t(fd: socket))
        // Registered by an earlier wait unless the descriptor is new (a closed socket leaves the
        // set by itself, and a new connection may reuse its number).
        if epoll_ctl(epoll, EPOLL_CTL_MOD, socket, &event) == 0 || epoll_ctl(epoll, EPOLL_CTL_ADD, socket, &event) == 0
        {
            return true
        }
        waiting.withLock { _ = $0.removeValue(forKey: socket) }
        return false
    }

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        while true {
            let count = epoll_wait(epoll, &events, Int32(events.count), -1)
            guard count > 0 else {
                // Only a signal may interrupt the wait; anything else would spin here forever.
                precondition(count == 0 || errno == EINTR, "epoll_wait failed: errno \(errno)")
                continue
            }
            for index in 0..<Int(count) {
                let socket = events[index].data.fd
                if let ready = waiting.withLock({ $0.removeValue(forKey: socket) }) { ready() }
            }
        }
    }
}
