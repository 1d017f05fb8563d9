extension String {
    /// The text without leading and trailing whitespace (libpq's messages end in a newline).
    ///
    /// ```swift
    /// "server closed the connection\n".trimmingWhitespace()   // "server closed the connection"
    /// ```
    func trimmingWhitespace() -> String {
        var view = Substring(self)
        while let last = view.last, last.isWhitespace { view.removeLast() }
        while let first = view.first, first.isWhitespace { view.removeFirst() }
        return String(view)
    }
}
