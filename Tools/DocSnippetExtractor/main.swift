import Foundation

// Turns the Swift code blocks of Markdown documents into Swift files, so that every block of
// the docs and the README is compiled (and the docs cannot rot).
//
//   DocSnippetExtractor PACKAGE_DIR OUTPUT_DIR DOC.md…
//
// Each document becomes one file, OUTPUT_DIR/<name>.swift. In it, a block's parts go where
// Swift allows them:
// - `import` lines at the top of the file;
// - `extension …` and `@Test` functions at file scope;
// - other declarations that start a line (`struct`, `enum`, `final class`, `actor`, `protocol`,
//   or an attribute alone on the line before one)
//   into a caseless enum named after the document, so that two documents may each declare
//   their own `Account`;
// - everything else into the body of an `async throws` function of that enum whose parameters
//   are the names the docs use without declaring them (`store`, `pool`, `logger`, …; see
//   `DocSnippetContext` in the target).
// `#sourceLocation` points compiler errors at the Markdown line.
//
// A comment on the line before a block changes that:
//   <!-- snippet: excerpt PATH -->   every line of the block (but `…` lines, and ignoring
//                                    indentation and access modifiers) must appear, in order,
//                                    in the source file PATH, which is compiled itself;
//   <!-- snippet: skip REASON -->    not Swift that a target can compile (a manifest, say).

/// What every generated file imports: the products the docs show, the bank's domain, and
/// the packages a server app has.
let contextImports = [
    "import Foundation", "import Logging", "import ServiceLifecycle", "import Testing", "import MireCore",
    "import MireMacros", "import MirePQ", "import MirePostgres", "import MireSnapshots", "import MireProjections",
    "import MireTransactions", "import MireSagas", "import MireTesting", "import MireLocalServer",
    "import MireTestSupport",
    "import MireBankDomain",
]

/// The names the docs' statements use without declaring them: a block is the body of a
/// function with these parameters (the types are in `DocSnippetContext.swift`, or Mire's).
let contextParameters = """
    store: EventStore, pool: PGPool, logger: Logger, config: PGConfiguration, configuration: PGConfiguration, \
    connection: PGConnection, row: PGRow, error: any Error, account: AggregateRoot<MireBankDomain.Account>, \
    id: String, amount: Money, cents: Int64, source: String, destination: String, from: String, to: String, \
    context: RequestContext, databaseURL: String, app: any Service, balances: Projection, inserts: [PGQuery]
    """

struct Failure: Error, CustomStringConvertible {
    var description: String
}

struct Block {
    var startLine: Int  // the first code line, 1-based
    var lines: [String]
    var directive: String?
}

/// The Swift blocks of `text`, with the directive comment before each, if any.
func blocks(in text: String) -> [Block] {
    var result: [Block] = []
    var current: Block?
    var previousNonEmpty: String?
    let lines = text.components(separatedBy: "\n")
    for (index, line) in lines.enumerated() {
        if var block = current {
            if line.trimmingCharacters(in: .whitespaces) == "```" {
                result.append(block)
                current = nil
            } else {
                block.lines.append(line)
                current = block
            }
            continue
        }
        if line.trimmingCharacters(in: .whitespaces) == "```swift" {
            var directive: String?
            if let previous = previousNonEmpty?.trimmingCharacters(in: .whitespaces),
                previous.hasPrefix("<!-- snippet:"), previous.hasSuffix("-->")
            {
                directive = String(previous.dropFirst("<!-- snippet:".count).dropLast("-->".count))
                    .trimmingCharacters(in: .whitespaces)
            }
            current = Block(startLine: index + 2, lines: [], directive: directive)
        }
        if !line.trimmingCharacters(in: .whitespaces).isEmpty { previousNonEmpty = line }
    }
    return result
}

/// A line as an excerpt compares it: without indentation, access modifiers, and a trailing
/// comment set off by two spaces (the doc's annotation).
func normalized(_ line: String) -> String {
    var text = line.trimmingCharacters(in: .whitespaces)
    if let comment = text.range(of: "  //") { text = String(text[..<comment.lowerBound]) }
    text = text.trimmingCharacters(in: .whitespaces)
    for modifier in ["public ", "package ", "internal "] where text.hasPrefix(modifier) {
        text.removeFirst(modifier.count)
    }
    return text
}

/// Checks that `block` is an excerpt of `source`: its lines appear there in order.
func checkExcerpt(_ block: Block, of path: String, packageDirectory: URL, document: String) throws {
    let url = packageDirectory.appending(path: path)
    guard let source = try? String(contentsOf: url, encoding: .utf8) else {
        throw Failure(
            description: "\(document):\(block.startLine - 1): error: the excerpt's source \(path) cannot be read")
    }
    let sourceLines = source.components(separatedBy: "\n").map(normalized)
    var cursor = sourceLines.startIndex
    for (offset, line) in block.lines.enumerated() {
        let wanted = normalized(line)
        if wanted.isEmpty || wanted == "…" || wanted == "..." { continue }
        guard let found = sourceLines[cursor...].firstIndex(of: wanted) else {
            throw Failure(
                description:
                    "\(document):\(block.startLine + offset): error: this line of an excerpt of \(path) is not in it (after the lines before it): \(wanted)"
            )
        }
        cursor = found + 1
    }
}

/// The column-0 declarations of a block, split from its statements.
struct Parts {
    var imports: [String] = []
    var fileScope: [(line: Int, text: [String])] = []
    var members: [(line: Int, text: [String])] = []
    var statements: [(line: Int, text: [String])] = []
}

func split(_ block: Block) -> Parts {
    var parts = Parts()
    let memberStarts = ["struct ", "enum ", "final class ", "class ", "actor ", "protocol "]
    var index = 0
    var pending: (line: Int, text: [String])?
    func flushStatements() {
        if let statements = pending { parts.statements.append(statements) }
        pending = nil
    }
    while index < block.lines.count {
        let line = block.lines[index]
        let lineNumber = block.startLine + index
        if line.hasPrefix("import ") {
            flushStatements()
            parts.imports.append(line)
            index += 1
            continue
        }
        let isFileScope = line.hasPrefix("extension ") || line.hasPrefix("@Test")
        // An attribute alone on its line (`@MireEvent`) belongs to the declaration under it.
        let attributeOfMember =
            line.hasPrefix("@") && !line.hasPrefix("@Test") && index + 1 < block.lines.count
            && memberStarts.contains { block.lines[index + 1].hasPrefix($0) }
        let isMember = attributeOfMember || memberStarts.contains { line.hasPrefix($0) }
        if isFileScope || isMember {
            flushStatements()
            // The declaration runs until its braces balance (it may span one line).
            var depth = 0
            var text: [String] = []
            repeat {
                let current = block.lines[index]
                depth += current.filter { $0 == "{" }.count - current.filter { $0 == "}" }.count
                text.append(current)
                index += 1
            } while index < block.lines.count
                && (depth > 0 || text.count == 1 && text[0].hasPrefix("@") && depth == 0)
            if isFileScope {
                parts.fileScope.append((lineNumber, text))
            } else {
                parts.members.append((lineNumber, text))
            }
            continue
        }
        if pending == nil { pending = (lineNumber, []) }
        pending?.text.append(line)
        index += 1
    }
    flushStatements()
    return parts
}

func located(_ chunk: (line: Int, text: [String]), in path: String, indent: String = "") -> [String] {
    ["#sourceLocation(file: \"\(path)\", line: \(chunk.line))"] + chunk.text.map { indent + $0 }
        + ["#sourceLocation()"]
}

/// The Swift file for one document.
func swiftFile(for document: String, relativePath: String, packageDirectory: URL) throws -> String {
    let text = try String(contentsOf: URL(filePath: document), encoding: .utf8)
    let namespace =
        "Doc_"
        + String(
            relativePath.replacingOccurrences(of: ".md", with: "").map { $0.isLetter || $0.isNumber ? $0 : "_" })
    var imports: [String] = []
    var fileScope: [String] = []
    var members: [String] = []
    var skipped: [String] = []
    for (number, block) in blocks(in: text).enumerated() {
        if let directive = block.directive {
            if directive.hasPrefix("excerpt ") {
                try checkExcerpt(
                    block, of: String(directive.dropFirst("excerpt ".count)).trimmingCharacters(in: .whitespaces),
                    packageDirectory: packageDirectory, document: document)
                continue
            }
            if directive.hasPrefix("skip") {
                skipped.append("// block \(number + 1) (line \(block.startLine)): \(directive)")
                continue
            }
            throw Failure(
                description: "\(document):\(block.startLine - 1): error: unknown snippet directive '\(directive)'")
        }
        let parts = split(block)
        imports += parts.imports
        for chunk in parts.fileScope { fileScope += located(chunk, in: document) + [""] }
        for chunk in parts.members { members += located(chunk, in: document, indent: "    ") + [""] }
        if !parts.statements.isEmpty {
            members.append("    static func block\(number + 1)(\(contextParameters)) async throws {")
            for chunk in parts.statements { members += located(chunk, in: document, indent: "        ") }
            members.append("    }")
            members.append("")
        }
    }
    let header = [
        "// Generated by DocSnippetExtractor from \(relativePath): do not edit.",
        "// swift-format-ignore-file",
    ]
    let uniqueImports = (contextImports + imports).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
    return (header + skipped + uniqueImports + [""] + fileScope + ["enum \(namespace) {"] + members + ["}", ""])
        .joined(separator: "\n")
}

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: DocSnippetExtractor PACKAGE_DIR OUTPUT_DIR DOC.md…\n".utf8))
    exit(64)
}
let packageDirectory = URL(filePath: arguments[arguments.startIndex])
let outputDirectory = URL(filePath: arguments[arguments.startIndex + 1])
do {
    try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
    for document in arguments.dropFirst(2) {
        let relative = String(document.dropFirst(packageDirectory.path.count + 1))
        let name = relative.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: ".md", with: ".swift")
        let file = try swiftFile(for: document, relativePath: relative, packageDirectory: packageDirectory)
        try file.write(to: outputDirectory.appending(path: name), atomically: true, encoding: .utf8)
    }
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}
