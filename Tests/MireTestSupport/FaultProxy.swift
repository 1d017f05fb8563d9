import Foundation
public import MirePQ
import Synchronization

/// A TCP proxy on loopback in front of a PostgreSQL server that breaks connections on command,
/// at the precise moments the fault model is about (see `docs/reliability.md`).
///
/// Faults are armed against the bytes a client sends: when a request (a chunk the client wrote)
/// contains the armed text, the proxy acts on that request. The text is matched in the raw
/// protocol bytes, so it can be SQL (`COMMIT`, sent unprepared) or a bound parameter's value (a
/// stream id, which travels in the `Bind` message of a prepared statement).
///
/// ```swift
/// let proxy = try FaultProxy(upstream: configuration)
/// let pool = PGPool(configuration: proxy.configuration, logger: logger)
/// proxy.arm(.dropReply, whenRequestContains: "COMMIT")   // the outcome-unknown moment
/// ```
public final class FaultProxy: Sendable {
    /// What to do to a connection when an armed request passes.
    public enum Action: Sendable, Hashable {
        /// Close the connection without forwarding the request: the server never sees it.
        case dropRequest
        /// Forward the request, then close the connection when the reply starts to arrive,
        /// forwarding none of it: the server did the work, the client never hears.
        case dropReply
        /// Forward the request and the first `bytes` bytes of its reply, then close: a result
        /// cut off in the middle.
        case dropReplyAfter(bytes: Int)
        /// Forward the request, then close the connection at once: the server goes on with the
        /// work (a statement waiting for a lock keeps waiting) while the client sees a lost
        /// connection.
        case cutAfterRequest
        /// Hold the request back for `duration`, then forward it: the server waits, idle.
        case stallRequest(Duration)
        /// Freeze every connection, both ways, for `duration`, starting with this request (held
        /// back): the client process looks frozen to the server, heartbeats included.
        case freezeAll(Duration)
        /// Forward the request, then hold the reply back for `duration` before forwarding it.
        case stallReply(Duration)
    }

    /// When an armed fault fires.
    public enum Trigger: Sendable, Hashable {
        /// A request whose bytes contain this text.
        case requestContains(String)
        /// Any request, with this probability (0…1).
        case anyRequest(probability: Double)
        /// A request containing this text, with this probability.
        case requestContainsWithProbability(String, Double)
        /// A request that runs exactly one statement, this one (sent unprepared, so its text
        /// travels): a lone `COMMIT`, not a pipeline that ends with one.
        case onlyStatement(String)
    }

    private struct Armed: Sendable {
        var action: Action
        var trigger: Trigger
        var remaining: Int
        var thenRefuse: Bool
    }

    private struct State: Sendable {
        var armed: [Armed] = []
        var refusing = false
        var stopped = false
        var fired = 0
        var frozenUntil: ContinuousClock.Instant?
        var connections: [Int: Int32] = [:]  // id → client socket
        var nextID = 0
    }

    /// The loopback port the proxy listens on.
    public let port: Int
    /// How clients reach the server through the proxy.
    public let configuration: PGConfiguration
    private let upstreamHost: String
    private let upstreamPort: Int
    private let listener: Int32
    private let state = Mutex(State())

    /// A proxy for the server that `upstream` names (host and port keywords, as the local server
    /// helper gives them, or a URL's host and port; IPv4 only). It starts listening at once.
    public init(upstream: PGConfiguration) throws {
        let url = URLComponents(string: upstream.connectionString)
        guard let host = upstream.keywords["host"] ?? url?.host,
            let port = upstream.keywords["port"].flatMap(Int.init) ?? url?.port
        else {
            throw ProxyError(description: "the upstream configuration names no host and port")
        }
        upstreamHost = host
        upstreamPort = port
        listener = try Socket.listen()
        self.port = try Socket.localPort(listener)
        var proxied = upstream
        proxied.keywords["host"] = "127.0.0.1"
        proxied.keywords["port"] = String(self.port)
        configuration = proxied
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    deinit { stop() }

    /// Arms a fault for the next `times` matching requests (on any connection). With
    /// `thenRefuseNewConnections`, the proxy refuses every new connection once it fired (the
    /// server looks gone from that moment).
    public func arm(_ action: Action, when trigger: Trigger, times: Int = 1, thenRefuseNewConnections: Bool = false) {
        state.withLock {
            $0.armed.append(
                Armed(action: action, trigger: trigger, remaining: times, thenRefuse: thenRefuseNewConnections))
        }
    }

    /// Arms a fault for the next request that sends exactly the statement `sql` through the
    /// extended protocol (its `Parse` message), e.g. `COMMIT` — but not `BEGIN ISOLATION LEVEL
    /// READ COMMITTED`. With `alone`, only a request that runs this one statement and nothing else.
    public func arm(_ action: Action, whenStatementIs sql: String, alone: Bool = false, times: Int = 1) {
        arm(action, when: alone ? .onlyStatement(sql) : .requestContains("\u{0}" + sql + "\u{0}"), times: times)
    }

    /// Whether `request` is a sequence of protocol messages that binds exactly one statement,
    /// parsed from the text `sql`.
    static func isOnlyStatement(_ sql: String, _ request: [UInt8]) -> Bool {
        var offset = 0
        var parsed: [String] = []
        var binds = 0
        while offset < request.count {
            guard offset + 5 <= request.count else { return false }
            let type = request[offset]
            let length = request[(offset + 1)..<(offset + 5)].reduce(0) { $0 << 8 | Int($1) }
            guard length >= 4, offset + 1 + length <= request.count else { return false }
            let body = request[(offset + 5)..<(offset + 1 + length)]
            switch type {
            case UInt8(ascii: "P"):
                let fields = body.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
                guard fields.count >= 2 else { return false }
                parsed.append(String(decoding: fields[1], as: UTF8.self))
            case UInt8(ascii: "B"):
                binds += 1
            default:
                break
            }
            offset += 1 + length
        }
        return binds == 1 && parsed == [sql]
    }

    /// Arms a fault for the next request that contains `text`.
    public func arm(_ action: Action, whenRequestContains text: String, times: Int = 1) {
        arm(action, when: .requestContains(text), times: times)
    }

    /// Removes every armed fault.
    public func disarm() {
        state.withLock { $0.armed = [] }
    }

    /// How many faults have fired so far.
    public var faultsFired: Int { state.withLock { $0.fired } }

    /// While true, new connections are accepted and closed at once (the server looks down).
    public var refusesNewConnections: Bool {
        get { state.withLock { $0.refusing } }
        set { state.withLock { $0.refusing = newValue } }
    }

    /// Ends a freeze early.
    public func thaw() {
        state.withLock { $0.frozenUntil = nil }
    }

    private var isFrozen: Bool {
        state.withLock { state in
            guard let until = state.frozenUntil else { return false }
            if ContinuousClock.now < until { return true }
            state.frozenUntil = nil
            return false
        }
    }

    /// Cuts every proxied connection now, as a network failure would.
    public func dropAllConnections() {
        let sockets = state.withLock { Array($0.connections.values) }
        for socket in sockets { shutdown(socket, Int32(SHUT_RDWR)) }
    }

    /// Stops listening and cuts every connection.
    public func stop() {
        let first = state.withLock { state -> Bool in
            defer { state.stopped = true }
            return !state.stopped
        }
        guard first else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        dropAllConnections()
    }

    // MARK: Internals

    private var isStopped: Bool { state.withLock { $0.stopped } }

    private func acceptLoop() {
        while !isStopped {
            var descriptor = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 100) > 0 else { continue }
            // Close-on-exec: a program the tests start (a server, its watchdog) must not inherit
            // the proxy's sockets, or a connection the proxy closes stays open in it.
            let client = accept(listener, nil, nil)
            if client >= 0 { _ = fcntl(client, F_SETFD, FD_CLOEXEC) }
            guard client >= 0 else { continue }
            if refusesNewConnections || isStopped {
                close(client)
                continue
            }
            guard let server = try? Socket.connect(host: upstreamHost, port: upstreamPort) else {
                close(client)
                continue
            }
            let id = state.withLock { state -> Int in
                state.nextID += 1
                state.connections[state.nextID] = client
                return state.nextID
            }
            Thread.detachNewThread { [self] in
                pump(client: client, server: server)
                _ = state.withLock { $0.connections.removeValue(forKey: id) }
                close(client)
                close(server)
            }
        }
    }

    /// Which armed fault, if any, this request fires (and consumes it).
    private func fault(for request: [UInt8]) -> Action? {
        state.withLock { state -> Action? in
            for index in state.armed.indices {
                let armed = state.armed[index]
                let fires: Bool
                switch armed.trigger {
                case .requestContains(let text):
                    fires = request.contains(subsequence: Array(text.utf8))
                case .anyRequest(let probability):
                    fires = Double.random(in: 0..<1) < probability
                case .requestContainsWithProbability(let text, let probability):
                    fires = request.contains(subsequence: Array(text.utf8)) && Double.random(in: 0..<1) < probability
                case .onlyStatement(let sql):
                    fires = Self.isOnlyStatement(sql, request)
                }
                guard fires else { continue }
                state.armed[index].remaining -= 1
                if state.armed[index].remaining <= 0 { state.armed.remove(at: index) }
                state.fired += 1
                if armed.thenRefuse { state.refusing = true }
                if ProcessInfo.processInfo.environment["MIRE_PROXY_DEBUG"] != nil {
                    print(
                        "proxy fired \(armed.action) on:",
                        String(decoding: request.map { $0 < 32 || $0 > 126 ? UInt8(ascii: ".") : $0 }, as: UTF8.self))
                }
                return armed.action
            }
            return nil
        }
    }

    private static func sleep(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
    }

    /// Copies bytes both ways until either side closes or a fault ends the connection.
    private func pump(client: Int32, server: Int32) {
        var pending: Action?  // a fault waiting for the reply to start
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !isStopped {
            if isFrozen {
                Thread.sleep(forTimeInterval: 0.01)
                continue
            }
            var descriptors = [
                pollfd(fd: client, events: Int16(POLLIN), revents: 0),
                pollfd(fd: server, events: Int16(POLLIN), revents: 0),
            ]
            guard poll(&descriptors, 2, 100) >= 0 else { return }
            if descriptors[0].revents != 0 {
                let count = read(client, &buffer, buffer.count)
                guard count > 0 else { return }
                let request = Array(buffer[0..<count])
                switch fault(for: request) {
                case .dropRequest?:
                    return
                case .cutAfterRequest?:
                    _ = Socket.writeAll(server, request)
                    return
                case .stallRequest(let duration)?:
                    Self.sleep(duration)
                    guard !isStopped, Socket.writeAll(server, request) else { return }
                case .freezeAll(let duration)?:
                    state.withLock { $0.frozenUntil = .now + duration }
                    while isFrozen && !isStopped { Thread.sleep(forTimeInterval: 0.01) }
                    guard !isStopped, Socket.writeAll(server, request) else { return }
                case let action?:
                    pending = action
                    guard Socket.writeAll(server, request) else { return }
                case nil:
                    guard Socket.writeAll(server, request) else { return }
                }
            }
            if descriptors[1].revents != 0 {
                let count = read(server, &buffer, buffer.count)
                guard count > 0 else { return }
                var reply = Array(buffer[0..<count])
                switch pending {
                case .dropReply?:
                    return
                case .dropReplyAfter(let bytes)?:
                    _ = Socket.writeAll(client, Array(reply.prefix(bytes)))
                    return
                case .stallReply(let duration)?:
                    pending = nil
                    Self.sleep(duration)
                    // Whatever else the server sent meanwhile follows in order.
                    reply += Socket.readAvailable(server)
                case .dropRequest?, .cutAfterRequest?, .stallRequest?, .freezeAll?, nil:
                    break
                }
                guard Socket.writeAll(client, reply) else { return }
            }
        }
    }
}

/// The proxy could not start.
public struct ProxyError: Error, CustomStringConvertible {
    /// What failed.
    public let description: String
}

/// The few socket calls the proxy needs.
private enum Socket {
    static func listen() throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw ProxyError(description: "socket() failed: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, Glibc.listen(descriptor, 128) == 0 else {
            close(descriptor)
            throw ProxyError(description: "could not listen on loopback: errno \(errno)")
        }
        return descriptor
    }

    static func localPort(_ descriptor: Int32) throws -> Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard result == 0 else { throw ProxyError(description: "getsockname failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func connect(host: String, port: Int) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw ProxyError(description: "socket() failed") }
        var address = loopback(port: port)
        if host != "127.0.0.1" && host != "localhost" {
            guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
                close(descriptor)
                throw ProxyError(description: "the proxy handles IPv4 addresses only, not \(host)")
            }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            throw ProxyError(description: "could not reach the server at \(host):\(port)")
        }
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return descriptor
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return address
    }

    static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes {
                send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }

    static func readAvailable(_ descriptor: Int32) -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            var descriptorState = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptorState, 1, 0) > 0 else { return result }
            let count = read(descriptor, &buffer, buffer.count)
            guard count > 0 else { return result }
            result += buffer[0..<count]
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate func contains(subsequence needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return needle.isEmpty }
        let first = needle[0]
        var index = 0
        while index <= count - needle.count {
            if self[index] == first && self[index..<index + needle.count].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }
}
