import CLibPQRaw
import Foundation
import Glibc

/// A prototype of the other driver design, for the write-path cost model: the caller's task
/// sends the statement itself with non-blocking libpq (`PQsendQueryPrepared`), and one event-loop
/// thread, parked in `epoll_wait`, reads the reply and resumes the caller. One thread hand-off per
/// statement instead of two (Mire's driver hands each blocking call to the connection's thread
/// and back). Not a driver: one statement in flight, no cancellation, no fault model.
/// Confinement: the connection is used by the caller until its send is flushed, then only by the
/// loop thread until it resumes the caller (the lock and `epoll_ctl` order the two).
public final class EventLoopPrototype: @unchecked Sendable {
    let raw: RawLibPQ
    let epoll: Int32
    let socket: Int32
    let lock = NSLock()
    var waiting: CheckedContinuation<Void, any Error>?

    public init(conninfo: String, sql: String, payload: String = #"{"amount":1}"#) throws {
        raw = try RawLibPQ(conninfo: conninfo)
        raw.appendPayload = payload
        try raw.prepareAppend(sql)
        guard PQsetnonblocking(raw.connection, 1) == 0 else { throw RawLibPQ.RawFailure(message: "nonblocking") }
        socket = PQsocket(raw.connection)
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        var event = epoll_event(events: 0, data: epoll_data_t(fd: socket))
        guard epoll_ctl(epoll, EPOLL_CTL_ADD, socket, &event) == 0 else {
            throw RawLibPQ.RawFailure(message: "epoll_ctl")
        }
        let thread = Thread { [unowned self] in self.loop() }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Sends one append and waits for its reply without blocking the caller's thread.
    public func append(stream: String, version: Int64) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            do {
                try raw.withAppendParameters(stream: stream, version: version) { pointers, lengths, formats in
                    guard PQsendQueryPrepared(raw.connection, "append", 7, pointers, lengths, formats, 1) == 1 else {
                        throw RawLibPQ.RawFailure(message: String(cString: PQerrorMessage(raw.connection)))
                    }
                }
                while PQflush(raw.connection) == 1 {}  // a small request: the socket takes it at once
                lock.withLock { waiting = continuation }
                var event = epoll_event(
                    events: EPOLLIN.rawValue | EPOLLONESHOT.rawValue, data: epoll_data_t(fd: socket))
                epoll_ctl(epoll, EPOLL_CTL_MOD, socket, &event)
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    private func loop() {
        var events = [epoll_event](repeating: epoll_event(), count: 1)
        while true {
            let count = epoll_wait(epoll, &events, 1, -1)
            guard count > 0 else { continue }
            PQconsumeInput(raw.connection)
            if PQisBusy(raw.connection) == 1 {
                var event = epoll_event(
                    events: EPOLLIN.rawValue | EPOLLONESHOT.rawValue, data: epoll_data_t(fd: socket))
                epoll_ctl(epoll, EPOLL_CTL_MOD, socket, &event)
                continue
            }
            var failure: String?
            while let result = PQgetResult(raw.connection) {
                let status = PQresultStatus(result)
                if status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK {
                    failure = String(cString: PQresultErrorMessage(result))
                }
                PQclear(result)
            }
            let continuation = lock.withLock {
                defer { waiting = nil }
                return waiting
            }
            if let failure {
                continuation?.resume(throwing: RawLibPQ.RawFailure(message: failure))
            } else {
                continuation?.resume()
            }
        }
    }
}

/// Mire's driver design reduced to its hand-offs: the blocking call runs on a serial queue of its
/// own and resumes the caller.
public final class QueueHandoffPrototype: @unchecked Sendable {
    let raw: RawLibPQ
    let queue = DispatchQueue(label: "handoff")

    public init(conninfo: String, sql: String, payload: String = #"{"amount":1}"#) throws {
        raw = try RawLibPQ(conninfo: conninfo)
        raw.appendPayload = payload
        try raw.prepareAppend(sql)
    }

    public func append(sql: String, stream: String, version: Int64) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            queue.async { [raw] in
                do {
                    try raw.appendPrepared(sql, stream: stream, version: version)
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}

/// Mire's driver shape without Mire's code: an actor whose executor is a private serial queue,
/// its method making the blocking call, so the caller's task hops onto the queue and back (where
/// `QueueHandoffPrototype` hands a closure over and resumes a continuation). Compares the two
/// ways of handing a statement to the connection's thread.
public actor ActorHandoffPrototype {
    nonisolated let executor = PrototypeQueueExecutor()
    let raw: RawLibPQ

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    public init(conninfo: String, sql: String, payload: String = #"{"amount":1}"#) throws {
        raw = try RawLibPQ(conninfo: conninfo)
        raw.appendPayload = payload
        try raw.prepareAppend(sql)
    }

    public func append(sql: String, stream: String, version: Int64) throws {
        try raw.appendPrepared(sql, stream: stream, version: version)
    }
}

/// A serial executor on a private Dispatch queue, as Mire's connections have.
final class PrototypeQueueExecutor: SerialExecutor {
    let queue = DispatchQueue(label: "actor-handoff")

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedSerialExecutor()) }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }
}
