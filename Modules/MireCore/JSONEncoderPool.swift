import Synchronization

/// Encoders kept between encodes, with their buffers: encoding an event then allocates no
/// encoder, no byte buffer and no container stack, which together cost more than most events'
/// encoding. Two slots, each an atomic address of a retained encoder (0 when empty): no lock,
/// and under contention an encode simply makes a new encoder.
///
/// An encoder goes back only when nothing else holds it: a value's `encode(to:)` that kept
/// its `Encoder` (or a container) keeps that encoder to itself.
enum JSONEncoderPool {
    private static let first = Atomic<UInt>(0)
    private static let second = Atomic<UInt>(0)

    /// Runs `body` with a ready encoder, then keeps the encoder for the next encode.
    ///
    /// ```swift
    /// let bytes = try JSONEncoderPool.withEncoder { encoder in
    ///     try encoder.encodeTopLevel(value)
    ///     return encoder.bytes
    /// }
    /// ```
    @inline(__always)
    static func withEncoder<Result>(_ body: (JSONValueEncoder) throws -> Result) rethrows -> Result {
        var encoder = take()
        defer { recycle(&encoder) }
        return try body(encoder)
    }

    private static func take() -> JSONValueEncoder {
        var address = first.exchange(0, ordering: .acquiring)
        if address == 0 { address = second.exchange(0, ordering: .acquiring) }
        if let pointer = UnsafeRawPointer(bitPattern: address) {
            return Unmanaged<JSONValueEncoder>.fromOpaque(pointer).takeRetainedValue()
        }
        return JSONValueEncoder()
    }

    private static func recycle(_ encoder: inout JSONValueEncoder) {
        guard isKnownUniquelyReferenced(&encoder), encoder.reset() else { return }
        let retained = Unmanaged.passRetained(encoder)
        let address = UInt(bitPattern: retained.toOpaque())
        if first.compareExchange(expected: 0, desired: address, ordering: .releasing).exchanged { return }
        if second.compareExchange(expected: 0, desired: address, ordering: .releasing).exchanged { return }
        retained.release()
    }
}
