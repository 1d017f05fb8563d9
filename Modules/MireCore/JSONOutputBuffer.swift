internal import Foundation

/// The bytes an encode writes: memory the buffer owns, written through a pointer, grown by
/// doubling. Appending to `[UInt8]` checks uniqueness and capacity byte by byte, which costs
/// more than the JSON itself for small events. Every write checks room first; every read is
/// bounds-checked: nothing here can write or read outside the allocation.
struct JSONOutputBuffer: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    /// Bytes written.
    private(set) var count = 0
    /// Bytes allocated.
    private(set) var capacity: Int

    /// An empty buffer with room for `capacity` bytes.
    ///
    /// ```swift
    /// var output = JSONOutputBuffer(capacity: 256)
    /// ```
    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        base = UnsafeMutablePointer<UInt8>.allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// The byte at `index`, or 0 outside the written bytes.
    subscript(index: Int) -> UInt8 { index >= 0 && index < count ? base[index] : 0 }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        if count == capacity { grow(toHold: 1) }
        base[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func append(contentsOf bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        if capacity - count < bytes.count { grow(toHold: bytes.count) }
        (base + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    /// Appends text (numbers' descriptions, Decimal's).
    mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append(contentsOf: $0) }
    }

    /// Drops the last `n` bytes.
    mutating func removeLast(_ n: Int) { count -= max(0, min(n, count)) }

    /// Drops every byte, keeping the memory.
    mutating func removeAll() { count = 0 }

    /// The bytes in `range` (clamped to those written) as `Data`.
    func data(_ range: Range<Int>) -> Data {
        let lower = max(0, min(range.lowerBound, count))
        let upper = max(lower, min(range.upperBound, count))
        return Data(bytes: base + lower, count: upper - lower)
    }

    /// The bytes in `range` (clamped to those written) as an array.
    func array(_ range: Range<Int>) -> [UInt8] {
        let lower = max(0, min(range.lowerBound, count))
        let upper = max(lower, min(range.upperBound, count))
        return Array(UnsafeBufferPointer(start: base + lower, count: upper - lower))
    }

    @inline(never)
    private mutating func grow(toHold extra: Int) {
        var newCapacity = capacity
        while newCapacity - count < extra {
            let (doubled, overflow) = newCapacity.multipliedReportingOverflow(by: 2)
            newCapacity = overflow ? Int.max : doubled
        }
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        grown.update(from: base, count: count)
        base.deallocate()
        base = grown
        capacity = newCapacity
    }
}
