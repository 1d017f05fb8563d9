import Foundation
import MireCore

/// Finds a free TCP port on 127.0.0.1 by binding port 0 and reading what the kernel chose.
enum FreePort {
    static func find() throws(MireError) -> Int {
        guard let port = try bind(port: 0) else {
            throw MireError(code: .localServer, message: "could not bind a loopback port: errno \(errno)")
        }
        return port
    }

    /// Whether `port` is free on 127.0.0.1 right now.
    static func isFree(_ port: Int) -> Bool {
        guard (1...65535).contains(port) else { return false }  // e.g. a port file edited by hand
        return (try? bind(port: port)) != nil
    }

    /// Binds `port` (0: any) on 127.0.0.1 and returns the port bound, or nil when it is taken.
    private static func bind(port: Int) throws(MireError) -> Int? {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw MireError(code: .localServer, message: "socket() failed: errno \(errno)") }
        defer { close(fd) }
        // PostgreSQL binds with SO_REUSEADDR; so must this check, or a port with connections in
        // TIME_WAIT (a server just restarted) would look taken.
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        guard let port16 = UInt16(exactly: port) else {
            throw MireError(code: .localServer, message: "\(port) is not a TCP port (0…65535)")
        }
        address.sin_port = port16.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                systemBind(fd, generic, length) == 0 && getsockname(fd, generic, &length) == 0
            }
        }
        guard bound else { return nil }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// The C library's `bind`, named apart from Foundation's overloads.
#if canImport(Glibc)
    import Glibc
    private let systemBind = Glibc.bind
#elseif canImport(Darwin)
    import Darwin
    private let systemBind = Darwin.bind
#endif
