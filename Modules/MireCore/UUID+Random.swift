public import Foundation

extension UUID {
    /// A random (version 4) UUID from the system's secure generator: what `UUID()`
    /// gives, without opening `/dev/urandom` for each one as Foundation does on Linux (one file
    /// open per event id cost a fifth of a one-event save's client CPU). The default of
    /// ``EventMetadata/eventID``.
    ///
    /// ```swift
    /// let id = UUID.randomEventID()
    /// ```
    @usableFromInline
    static func randomEventID() -> UUID {
        var words: (UInt64, UInt64) = (0, 0)
        // One `getentropy` call for the 16 bytes: the standard library's generator makes one
        // `getrandom` system call per 8 bytes.
        let filled = withUnsafeMutableBytes(of: &words) { getentropy($0.baseAddress, $0.count) == 0 }
        if !filled {
            var generator = SystemRandomNumberGenerator()
            words = (generator.next(), generator.next())
        }
        return withUnsafeMutableBytes(of: &words) { bytes in
            bytes[6] = (bytes[6] & 0x0F) | 0x40  // version 4
            bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
            return UUID(uuid: bytes.load(as: uuid_t.self))
        }
    }
}
