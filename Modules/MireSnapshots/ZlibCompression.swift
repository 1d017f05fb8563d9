internal import CZlib
public import Foundation

/// zlib compression for snapshot state, with a hard cap on what decompression may produce.
///
/// Not part of the public API (a wire detail of the snapshot format): visible to Mire's own
/// benchmarks through `@_spi(Internals) import MireSnapshots`.
///
/// ```swift
/// let packed = try ZlibCompression.compress(state, level: 6)
/// let state = try ZlibCompression.decompress(packed, expectedSize: state.count, limit: 64 << 20)
/// ```
@_spi(Internals) public enum ZlibCompression {

    /// Why (de)compression failed.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// What went wrong.
        public let message: String
        public var description: String { "zlib: \(message)" }
    }

    /// Compresses `data` into a zlib stream.
    /// `level` is zlib's, 1 (fastest) … 9 (smallest).
    public static func compress(_ data: Data, level: Int32 = 6) throws(Failure) -> Data {
        // zlib counts in 32 bits: one call cannot take more.
        guard data.count <= Int(UInt32.max) / 2 else {
            throw Failure(message: "a state of \(data.count) bytes is too large to compress in one piece")
        }
        var stream = z_stream()
        guard mire_deflateInit2(&stream, level) == Z_OK else { throw Failure(message: "deflateInit failed") }
        defer { deflateEnd(&stream) }
        var output = Data(count: Int(deflateBound(&stream, uLong(data.count))))
        let status: Int32 = data.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { out in
                stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = out.bindMemory(to: Bytef.self).baseAddress
                stream.avail_out = uInt(out.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw Failure(message: "deflate returned \(status)") }
        output.count = Int(stream.total_out)
        return output
    }

    /// Decompresses a zlib stream, refusing to produce more than `limit` bytes (and more than
    /// `expectedSize`, when given), so a hostile or corrupt blob cannot exhaust memory.
    public static func decompress(_ data: Data, expectedSize: Int? = nil, limit: Int) throws(Failure) -> Data {
        let cap = min(limit, expectedSize ?? limit)
        var stream = z_stream()
        guard mire_inflateInit2(&stream) == Z_OK else { throw Failure(message: "inflateInit failed") }
        defer { inflateEnd(&stream) }
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var status: Int32 = Z_OK
        let failure: Failure? = data.withUnsafeBytes { (input: UnsafeRawBufferPointer) -> Failure? in
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(input.count)
            repeat {
                status = chunk.withUnsafeMutableBufferPointer { buffer in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = uInt(buffer.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                guard status == Z_OK || status == Z_STREAM_END else {
                    return Failure(message: "corrupt data (inflate returned \(status))")
                }
                let produced = chunk.count - Int(stream.avail_out)
                guard output.count + produced <= cap else {
                    return Failure(message: "decompressed size exceeds the limit of \(cap) bytes")
                }
                output.append(contentsOf: chunk[0..<produced])
                if status == Z_OK && stream.avail_in == 0 && produced == 0 {
                    return Failure(message: "truncated data")
                }
            } while status != Z_STREAM_END
            return nil
        }
        if let failure { throw failure }
        return output
    }
}
