/// An object or array being written. The encoder's stack of these is the output's open
/// brackets, innermost last.
struct JSONOpenContainer {
    /// Unique within one encode: a container closed since is never mistaken for a newer one at
    /// the same depth.
    let id: Int
    let isObject: Bool
    /// The value nesting (``JSONValueEncoder/level``) it was opened at: it is written to in
    /// order only while that value is being encoded.
    let level: Int
    /// Where its keys start in the encoder's list of written keys.
    let keysStart: Int
    /// Members written so far.
    var count = 0
    /// The id of a member reserved by `superEncoder()`, and where its value starts: if nothing
    /// is encoded into it before the next member or the end, it is `{}` (JSONEncoder's default
    /// for an encoder that wrote nothing).
    var pendingSuper = 0
    var pendingSuperStart = 0
}

/// A container's handle on its entry in the encoder's stack.
struct JSONContainerRef: Equatable {
    let index: Int
    let id: Int

    /// The handle of containers handed out once the encode has been refused: every write
    /// through them throws.
    static let dead = JSONContainerRef(index: -1, id: 0)
}

/// What the value being encoded has written so far: JSONEncoder's per-encoder storage (one
/// single value, or one object, or one array), whose rules decide what may follow.
enum JSONSlotContent: Equatable {
    case empty
    case scalar
    /// A container; `viaSingleValue` when it came from `singleValueContainer().encode(_:)` of
    /// a value that opened it (JSONEncoder then holds it as a finished value).
    case container(JSONContainerRef, isObject: Bool, viaSingleValue: Bool)
}

/// The value being encoded by a running `encode(to:)`.
struct JSONSlot {
    var content = JSONSlotContent.empty
    /// The output length when it began.
    var start: Int
    /// The number of open containers when it began: those it opens are above them.
    var frames: Int
}

/// How a member of an object was written, for keys written twice.
enum JSONMemberKind {
    case value, nestedObject, nestedArray, superEncoder
}

/// A key written into an open object.
struct JSONWrittenKey {
    let name: String
    /// Where its value starts in the output.
    let valueStart: Int
    let kind: JSONMemberKind
}

/// Where a container's values sit in the coding path: the first `depth` components of the
/// encoder's path (the value being encoded when the container was opened), then the keys of
/// super encoders in `extra` (rare; nil costs nothing to copy). As in JSONEncoder, nested
/// containers do not add their keys to the paths of the values inside them, only to their
/// own `codingPath`.
struct JSONEncodingScope {
    let depth: Int
    let extra: JSONCodingPath?

    /// The components of `extra`, root first.
    var extraComponents: [JSONPathComponent] {
        var reversed: [JSONPathComponent] = []
        var node = extra
        while let step = node {
            reversed.append(step.component)
            node = step.parent
        }
        return reversed.reversed()
    }
}

/// What holds the content of a value slot: the encoder for the value its `encode(to:)` is
/// writing, or a super encoder for the member it reserved.
protocol JSONSlotHolder: AnyObject {
    var slotContent: JSONSlotContent { get set }
    /// The coding path of the value (what `codingPath` returns).
    var slotPath: [any CodingKey] { get }
    /// The scope of the containers it hands out.
    var slotScope: JSONEncodingScope { get }
    /// Notes, before each use, whether the slot can still be written in order.
    func checkInOrder()
}
