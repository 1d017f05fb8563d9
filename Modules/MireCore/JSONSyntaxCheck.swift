/// The structural check JSONDecoder's scanner makes over a whole document before decoding any
/// of it, so that a document is refused (or accepted) exactly when JSONDecoder refuses it.
///
/// Like that scanner it checks structure only: brackets, commas, colons, literals, where strings
/// end and where numbers end. The text of strings and numbers (escapes, UTF-8, `01`, `1.2.3`) is
/// checked when a value is decoded, and not at all when it is skipped. It also accepts what
/// JSONDecoder accepts: a trailing comma in arrays and objects, any top-level value.
enum JSONSyntaxCheck {
    /// Containers may nest this deep; one more is an error (JSONDecoder's limit).
    static let maximumDepth = 512

    /// Documents at least this long get their container ends recorded.
    static let recordingThreshold = 4_096

    /// The offset of the top-level value of `bytes[start..<end]`, or `nil` when the document is
    /// not valid JSON for JSONDecoder. For larger documents, also where each non-empty container
    /// ends, so that decoders skip a container without reading it again.
    static func check(_ bytes: UnsafePointer<UInt8>, from start: Int, to end: Int) -> (
        top: Int, containers: JSONContainerEnds
    )? {
        var containers = JSONContainerEnds(recording: end - start >= recordingThreshold, documentLength: end - start)
        // 512 bytes: small enough to be on the stack.
        let top = withUnsafeTemporaryAllocation(of: Bool.self, capacity: maximumDepth) { isObject in
            check(bytes, from: start, to: end, isObject: isObject, containers: &containers)
        }
        guard let top else { return nil }
        return (top, containers)
    }

    /// `isObject` tells, per open container, whether it is an object.
    private static func check(
        _ bytes: UnsafePointer<UInt8>, from start: Int, to end: Int, isObject: UnsafeMutableBufferPointer<Bool>,
        containers: inout JSONContainerEnds
    ) -> Int? {
        let top = JSONScan.skipWhitespace(bytes, start, end)
        var index = top
        var depth = 0
        // Each turn reads one value at `index`, then closes what it can and finds the next value.
        while true {
            guard index < end else { return nil }
            switch bytes[index] {
            case JSONScan.quote:
                guard let after = JSONScan.stringEnd(bytes, index, end) else { return nil }
                index = after
            case UInt8(ascii: "{"):
                guard depth < maximumDepth else { return nil }
                let opening = index
                index = JSONScan.skipWhitespace(bytes, index + 1, end)
                guard index < end else { return nil }
                if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                } else {
                    isObject[depth] = true
                    containers.open(at: opening)
                    depth += 1
                    guard let value = member(bytes, index, end) else { return nil }
                    index = value
                    continue
                }
            case UInt8(ascii: "["):
                guard depth < maximumDepth else { return nil }
                let opening = index
                index = JSONScan.skipWhitespace(bytes, index + 1, end)
                guard index < end else { return nil }
                if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                } else {
                    isObject[depth] = false
                    containers.open(at: opening)
                    depth += 1
                    continue
                }
            case UInt8(ascii: "t"):
                guard literal("true", bytes, index, end) else { return nil }
                index += 4
            case UInt8(ascii: "f"):
                guard literal("false", bytes, index, end) else { return nil }
                index += 5
            case UInt8(ascii: "n"):
                guard literal("null", bytes, index, end) else { return nil }
                index += 4
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                index = JSONScan.numberEnd(bytes, index, end)
            default:
                return nil
            }
            // After a value: close containers until one has a next value.
            while true {
                if depth == 0 {
                    return JSONScan.skipWhitespace(bytes, index, end) == end ? top : nil
                }
                index = JSONScan.skipWhitespace(bytes, index, end)
                guard index < end else { return nil }
                let inObject = isObject[depth - 1]
                let closing = inObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
                if bytes[index] == closing {
                    depth -= 1
                    index += 1
                    containers.close(at: index)
                    continue
                }
                guard bytes[index] == UInt8(ascii: ",") else { return nil }
                index = JSONScan.skipWhitespace(bytes, index + 1, end)
                guard index < end else { return nil }
                if bytes[index] == closing {  // a trailing comma, which JSONDecoder accepts
                    depth -= 1
                    index += 1
                    containers.close(at: index)
                    continue
                }
                if inObject {
                    guard let value = member(bytes, index, end) else { return nil }
                    index = value
                }
                break
            }
        }
    }

    /// Checks `"key" :` at `index` and returns the offset of the member's value.
    @inline(__always)
    private static func member(_ bytes: UnsafePointer<UInt8>, _ index: Int, _ end: Int) -> Int? {
        guard bytes[index] == JSONScan.quote, let afterKey = JSONScan.stringEnd(bytes, index, end) else { return nil }
        let colon = JSONScan.skipWhitespace(bytes, afterKey, end)
        guard colon < end, bytes[colon] == UInt8(ascii: ":") else { return nil }
        return JSONScan.skipWhitespace(bytes, colon + 1, end)
    }

    @inline(__always)
    private static func literal(_ word: StaticString, _ bytes: UnsafePointer<UInt8>, _ index: Int, _ end: Int) -> Bool {
        let count = word.utf8CodeUnitCount
        guard end - index >= count else { return false }
        let expected = word.utf8Start
        for offset in 1..<count where bytes[index + offset] != expected[offset] { return false }
        return true
    }
}
