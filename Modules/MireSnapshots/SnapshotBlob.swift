import Foundation

/// A snapshot's stored form: the state's JSON, zlib-compressed above a threshold.
struct SnapshotBlob: Sendable, Equatable {
    static let json = "json"
    static let jsonZlib = "json+zlib"

    var encoding: String
    var uncompressedSize: Int
    var bytes: Data

    /// Encodes `state`, compressing when it is at least `threshold` bytes.
    static func encode<S: Encodable>(
        _ state: S, threshold: Int, level: Int32
    ) throws -> SnapshotBlob {
        let json = try JSONEncoder().encode(state)
        if json.count >= threshold {
            return SnapshotBlob(
                encoding: jsonZlib, uncompressedSize: json.count,
                bytes: try ZlibCompression.compress(json, level: level))
        }
        return SnapshotBlob(encoding: Self.json, uncompressedSize: json.count, bytes: json)
    }

    /// Why a stored snapshot cannot be used.
    struct Unusable: Error, CustomStringConvertible {
        let description: String
    }

    /// Decodes the state, refusing anything larger than `limit` bytes once decompressed.
    func decode<S: Decodable>(_ type: S.Type, limit: Int) throws -> S {
        guard uncompressedSize <= limit else {
            throw Unusable(description: "its recorded size \(uncompressedSize) exceeds the limit \(limit)")
        }
        let json: Data
        switch encoding {
        case Self.json:
            json = bytes
        case Self.jsonZlib:
            json = try ZlibCompression.decompress(bytes, expectedSize: uncompressedSize, limit: limit)
        default:
            throw Unusable(description: "unknown encoding '\(encoding)'")
        }
        guard json.count == uncompressedSize else {
            throw Unusable(description: "it decoded to \(json.count) bytes, not the recorded \(uncompressedSize)")
        }
        // No intermediate tree: the bytes are checked, then decoded in place, so memory stays
        // within a small multiple of the document (JSONDecoder needed ~16× to refuse one).
        return try decodeJSON(S.self, from: json)
    }
}
