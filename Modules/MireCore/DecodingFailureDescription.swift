/// A short account of why a decode failed, for error messages: the key or path and what was
/// expected there, without the decoder's full context dump.
func describeDecodingFailure(_ error: any Error) -> String {
    guard let decoding = error as? DecodingError else { return "\(error)" }
    switch decoding {
    case .keyNotFound(let key, _): return "missing key '\(key.stringValue)'"
    case .typeMismatch(let type, let context):
        return "expected \(type) at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
    case .valueNotFound(let type, let context):
        return "null for \(type) at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
    case .dataCorrupted(let context):
        let path = context.codingPath.map(\.stringValue).joined(separator: ".")
        return path.isEmpty ? context.debugDescription : "\(context.debugDescription) at '\(path)'"
    @unknown default: return "\(decoding)"
    }
}
