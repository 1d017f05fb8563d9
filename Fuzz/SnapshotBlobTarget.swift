// libFuzzer target: stored snapshot blobs — zlib streams and the state's JSON — as a hostile
// row would hold them. The first byte picks the encoding and a recorded size; the rest is the
// stored bytes. Decoding must end in a state or an error, within the memory limit, never a trap;
// plain JSON must decode as Foundation's JSONDecoder decodes it. Built by Fuzz/run.
import Foundation

struct State: Codable, Equatable {
    var owner: String
    var balance: Int64
    var history: [Int32]
    var flags: [String: Bool]?
    var ratio: Double?
}

let limit = 1 << 20

@_cdecl("LLVMFuzzerTestOneInput")
public func test(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let selector = input[0]
    let bytes = Data(input[1...])
    let compressed = selector & 1 == 1
    // The recorded size: usually the truth about the decompressed bytes, sometimes a lie.
    var recorded = bytes.count
    if compressed, let inflated = try? ZlibCompression.decompress(bytes, limit: limit) { recorded = inflated.count }
    if selector & 2 == 2 { recorded = Int(selector) << 12 }
    let blob = SnapshotBlob(
        encoding: compressed ? SnapshotBlob.jsonZlib : SnapshotBlob.json, uncompressedSize: recorded, bytes: bytes)
    let decoded = try? blob.decode(State.self, limit: limit)
    if !compressed && recorded == bytes.count {
        let foundation = try? JSONDecoder().decode(State.self, from: bytes)
        precondition(decoded == foundation, "snapshot JSON decodes differently from JSONDecoder")
    }
    return 0
}
