extension String {
    /// This text with every occurrence of `needle` replaced, compared Unicode scalar by scalar:
    /// a search by `Character` misses a secret whose first scalar is a combining mark, because
    /// the mark joins the character before it.
    ///
    /// ```swift
    /// "password=\u{301}x".replacingScalars(of: "\u{301}x", with: "***")   // "password=***"
    /// ```
    func replacingScalars(of needle: String, with replacement: String) -> String {
        let target = Array(needle.unicodeScalars)
        guard let first = target.first else { return self }
        let scalars = Array(unicodeScalars)
        var result = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            if scalars[index] == first, scalars.count - index >= target.count,
                scalars[index..<(index + target.count)].elementsEqual(target)
            {
                result.append(contentsOf: replacement.unicodeScalars)
                index += target.count
            } else {
                result.append(scalars[index])
                index += 1
            }
        }
        return String(result)
    }

    /// Whether `needle` occurs in this text, compared Unicode scalar by scalar.
    ///
    /// ```swift
    /// "=\u{301}x".containsScalars("\u{301}x")   // true
    /// ```
    func containsScalars(_ needle: String) -> Bool {
        let target = Array(needle.unicodeScalars)
        guard !target.isEmpty else { return true }
        let scalars = Array(unicodeScalars)
        guard scalars.count >= target.count else { return false }
        return (0...(scalars.count - target.count)).contains { scalars[$0..<($0 + target.count)].elementsEqual(target) }
    }
}
