public import Foundation

extension UUID {
    /// A random (version 4) UUID from the standard library's secure generator: what `UUID()`
    /// gives, without opening `/dev/urandom` for each one as Foundation does on Linux (one file
    /// open per event id cost a fifth of a one-event save's client CPU). The default of
    /// ``EventMetadata/eventID``.
    ///
    /// ```swift
    /// let id = UUID.randomEventID()
    /// ```
    @usableFromInline
    static func randomEventID() -> UUID {
        var generator = SystemRandomNumberGenerator()
        var words = (generator.next() as UInt64, generator.next() as UInt64)
        return withUnsafeMutableBytes(of: &words) { bytes in
            bytes[6] = (bytes[6] & 0x0F) | 0x40  // version 4
            bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
            return UUID(uuid: bytes.load(as: uuid_t.self))
        }
    }
}
