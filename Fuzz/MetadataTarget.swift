// libFuzzer target: stored event metadata (correlation and causation ids, custom keys) as JSON a
// hostile row may hold. Rebuilding metadata ends in metadata or `undecodableEvent`, never a trap;
// what it rebuilds must store and rebuild to the same metadata; JSON that Foundation's
// JSONDecoder reads must be read, and read the same way. Built by Fuzz/run.
import Foundation

struct Expected: Decodable {
    var correlationID: UUID?
    var causationID: UUID?
    var custom: [String: String]?
}

let eventID = UUID(uuidString: "00000000-0000-0000-0000-000000000001")!

@_cdecl("LLVMFuzzerTestOneInput")
public func test(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let json = Data(UnsafeRawBufferPointer(start: data, count: size))
    let foundation = try? JSONDecoder().decode(Expected.self, from: json)
    let metadata: EventMetadata
    do {
        metadata = try EventMetadata(eventID: eventID, storedJSON: json)
    } catch {
        precondition(error.code == .undecodableEvent, "metadata failed with \(error.code)")
        precondition(foundation == nil, "metadata JSONDecoder reads was refused: \(error)")
        return 0
    }
    precondition(metadata.eventID == eventID)
    let again = try? EventMetadata(eventID: eventID, storedJSON: metadata.storedJSON())
    precondition(
        again?.correlationID == metadata.correlationID && again?.causationID == metadata.causationID
            && again?.custom == metadata.custom, "metadata does not survive store → rebuild")
    if let foundation {
        precondition(
            metadata.correlationID == foundation.correlationID && metadata.causationID == foundation.causationID
                && metadata.custom == (foundation.custom ?? [:]), "metadata reads differently from JSONDecoder")
    }
    return 0
}
