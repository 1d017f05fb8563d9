/// A decode's own copy of the document, alive as long as a decoder or container refers to it
/// (a `Decodable` may keep its decoder: it must never read freed memory). One allocation: the
/// bytes are stored in the object.
///
/// Four bytes `null` follow the document: the value of a `superDecoder(forKey:)` whose key is
/// missing, as in JSONDecoder.
final class JSONBuffer: ManagedBuffer<Int, UInt8> {
    /// A buffer of `count` document bytes, written by `write`.
    static func make(documentCount count: Int, write: (UnsafeMutablePointer<UInt8>) -> Void) -> JSONBuffer {
        let buffer = unsafeDowncast(create(minimumCapacity: count + 4) { _ in count }, to: JSONBuffer.self)
        buffer.fill(documentCount: count, write: write)
        return buffer
    }

    /// `spare` rewritten with a document of `count` bytes, when it is large enough and nothing
    /// else refers to it any more (no decoder, container or kept `Decodable`); otherwise a new
    /// buffer, which becomes the spare. A replay decodes thousands of small payloads: one buffer
    /// serves them all instead of one allocation each.
    static func make(
        documentCount count: Int, reusing spare: inout JSONBuffer?, write: (UnsafeMutablePointer<UInt8>) -> Void
    ) -> JSONBuffer {
        if isKnownUniquelyReferenced(&spare), let buffer = spare, buffer.capacity >= count + 4 {
            buffer.fill(documentCount: count, write: write)
            return buffer
        }
        // Room for a somewhat larger payload next time.
        let buffer = unsafeDowncast(create(minimumCapacity: max(count + 4, 512)) { _ in count }, to: JSONBuffer.self)
        buffer.fill(documentCount: count, write: write)
        spare = buffer
        return buffer
    }

    /// Sets the document's length to `count`, lets `write` write it, and appends `null`.
    private func fill(documentCount count: Int, write: (UnsafeMutablePointer<UInt8>) -> Void) {
        withUnsafeMutablePointers { header, base in
            header.pointee = count
            write(base)
            base[count] = UInt8(ascii: "n")
            base[count + 1] = UInt8(ascii: "u")
            base[count + 2] = UInt8(ascii: "l")
            base[count + 3] = UInt8(ascii: "l")
        }
    }

    /// The first byte. Valid while the buffer lives: its elements never move.
    var base: UnsafeMutablePointer<UInt8> { withUnsafeMutablePointerToElements { $0 } }

    /// The document is `base[0..<documentEnd]`.
    var documentEnd: Int { withUnsafeMutablePointerToHeader { $0.pointee } }

    /// Readable bytes: the document and the `null` after it.
    var end: Int { documentEnd + 4 }

    /// The offset of the `null` after the document.
    var nullValue: Int { documentEnd }
}
