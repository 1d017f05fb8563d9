import Foundation
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The "external endpoint" of the outbox demo and tests: a minimal HTTP/1.1 server on loopback
/// that takes POSTs, remembers each body with its `Idempotency-Key` and `X-Mire-Topic`, and
/// answers 200 (or 503 while told to refuse). Deduplicating by key is the receiver's side of
/// at-least-once delivery: ``uniqueMessages`` keeps the first of each key.
///
/// ```swift
/// let receiver = try HTTPReceiver()
/// async let serving: Void = receiver.serve()
/// // POST to http://127.0.0.1:\(receiver.port)/
/// ```
final class HTTPReceiver: Service {
    /// One request received.
    struct Message: Sendable, Hashable, Codable {
        var key: String
        var topic: String
        var body: String
    }

    /// The port it listens on.
    let port: UInt16
    private let socket: Int32
    private let state = Mutex<(received: [Message], refusing: Bool, stopped: Bool)>(([], false, false))
    private let onMessage: (@Sendable (_ message: Message, _ isDuplicate: Bool) -> Void)?

    /// Listens on 127.0.0.1:`port` (0: a free port, read back from ``port``); `onMessage` hears of
    /// each message recorded, and whether its key came before.
    init(port: UInt16 = 0, onMessage: (@Sendable (_ message: Message, _ isDuplicate: Bool) -> Void)? = nil) throws {
        self.onMessage = onMessage
        let descriptor = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var yes: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(descriptor, 64) == 0 else {
            let code = errno
            close(descriptor)
            throw POSIXError(.init(rawValue: code) ?? .EIO)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.port = UInt16(bigEndian: address.sin_port)
        self.socket = descriptor
    }

    /// Every request received, in order (duplicates included).
    var received: [Message] { state.withLock { $0.received } }

    /// The first message of each key, in order.
    var uniqueMessages: [Message] {
        var seen = Set<String>()
        return received.filter { seen.insert($0.key).inserted }
    }

    /// While true, requests are answered 503 (and not recorded): a receiver that is down.
    func refuse(_ refusing: Bool) { state.withLock { $0.refusing = refusing } }

    /// Serves until the task is cancelled; the accept loop runs on a thread of its own (it
    /// blocks in `poll`, which must not hold a thread of the cooperative pool).
    func serve() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                let thread = Thread { [self] in
                    acceptLoop()
                    done.resume()
                }
                thread.name = "http-receiver"
                thread.start()
            }
        } onCancel: {
            state.withLock { $0.stopped = true }
        }
        close(socket)
    }

    /// Serves until graceful shutdown or cancellation.
    func run() async throws {
        try await cancelWhenGracefulShutdown { await self.serve() }
    }

    private func acceptLoop() {
        while !state.withLock({ $0.stopped }) {
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 100) > 0 else { continue }
            let client = accept(socket, nil, nil)
            guard client >= 0 else { continue }
            handle(client)
            close(client)
        }
    }

    /// Reads one request (headers, then `Content-Length` bytes) and answers it.
    private func handle(_ client: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var headerEnd: Int?
        var contentLength = 0
        while true {
            let count = recv(client, &buffer, buffer.count, 0)
            guard count > 0 else { return }
            bytes += buffer[0..<count]
            if headerEnd == nil, let end = bytes.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound {
                headerEnd = end
                // A length that is missing or not a small non-negative number is read as none.
                contentLength =
                    Self.header("content-length", in: bytes[..<end]).flatMap { Int($0) }
                    .map { min(max($0, 0), 1 << 20) } ?? 0
            }
            if let end = headerEnd, bytes.count >= end + contentLength { break }
        }
        guard let end = headerEnd else { return }
        let head = bytes[..<end]
        let message = Message(
            key: Self.header("idempotency-key", in: head) ?? "",
            topic: Self.header("x-mire-topic", in: head) ?? "",
            body: String(decoding: bytes[end..<(end + contentLength)], as: UTF8.self))
        let (refusing, isDuplicate) = state.withLock { state in
            let isDuplicate = state.received.contains { $0.key == message.key }
            if !state.refusing { state.received.append(message) }
            return (state.refusing, isDuplicate)
        }
        if !refusing { onMessage?(message, isDuplicate) }
        let reply = refusing ? "HTTP/1.1 503 Service Unavailable" : "HTTP/1.1 200 OK"
        let response = Array((reply + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").utf8)
        _ = response.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// The value of header `name` (lowercase) in `head`.
    private static func header(_ name: String, in head: ArraySlice<UInt8>) -> String? {
        for line in String(decoding: head, as: UTF8.self).split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            if line[..<colon].lowercased() == name {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }
}
