// libFuzzer target: stream ids from users and from stored rows. The input is read as UTF-8
// (invalid bytes repaired, as a row's text would be). Parsing must end in a StreamID or an
// invalidStreamID error, never a trap; an accepted id splits into a category and an id that
// build the same stream again, and survives JSON. Built by Fuzz/run.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func test(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
    // The same text split at its first '|' as (category, id), as a caller would pass them.
    if let bar = text.firstIndex(of: "|") {
        let category = String(text[..<bar])
        let id = String(text[text.index(after: bar)...])
        if let stream = try? StreamID(category: category, id: id) {
            precondition(stream.category == category && stream.entityID == id, "the parts do not come back")
        }
    }
    let parsed: StreamID
    do {
        parsed = try StreamID(text)
    } catch {
        precondition(error.code == .invalidStreamID, "unexpected error \(error.code)")
        return 0
    }
    precondition(parsed.rawValue == text)
    let rebuilt = try? StreamID(category: parsed.category, id: parsed.entityID)
    precondition(rebuilt == parsed, "category + id does not rebuild the stream")
    let json = try? JSONEncoder().encode(parsed)
    let decoded = json.flatMap { try? JSONBytesDecoder().decode(StreamID.self, from: $0) }
    precondition(decoded == parsed, "the stream id does not survive JSON")
    return 0
}
