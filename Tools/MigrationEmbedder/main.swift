import Foundation

// Usage: MigrationEmbedder OUTPUT.swift FILE.sql...
// Writes a Swift file holding each migration's name and exact text (as raw string literals).
let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: MigrationEmbedder OUTPUT.swift FILE.sql...\n".utf8))
    exit(64)
}

/// A raw string literal delimiter longer than any run of `#` in `text`.
func delimiter(for text: String) -> String {
    var longest = 0
    var current = 0
    for character in text {
        current = character == "#" ? current + 1 : 0
        longest = max(longest, current)
    }
    return String(repeating: "#", count: longest + 1)
}

var source = """
    // Generated at build time from Migrations/*.sql by the EmbedMigrations plugin. Do not edit.

    extension EmbeddedMigrations {
        static let files: [(name: String, sql: String)] = [

    """
for path in arguments.dropFirst() {
    let url = URL(fileURLWithPath: path)
    let text = try String(contentsOf: url, encoding: .utf8)
    let hashes = delimiter(for: text)
    source += "        (name: \"\(url.lastPathComponent)\", sql: \(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes)),\n"
}
source += "    ]\n}\n"
try source.write(toFile: output, atomically: true, encoding: .utf8)
