import Foundation
import PackagePlugin

/// Compiles the Swift blocks of `README.md`, `docs/*.md` and the DocC catalogs' pages into the target (see
/// `Tools/DocSnippetExtractor`), so that a doc whose code no longer compiles fails the build.
@main
struct CompileDocSnippets: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL
        let docs = root.appending(path: "docs")
        // The README, the walkthroughs, and the DocC catalogs' own pages (their Articles are
        // links to the walkthroughs).
        let catalogs = try FileManager.default.subpathsOfDirectory(atPath: root.appending(path: "Modules").path)
            .filter { $0.hasSuffix(".md") && $0.split(separator: "/").dropLast().last?.hasSuffix(".docc") == true }
            .sorted()
            .map { root.appending(path: "Modules").appending(path: $0) }
        let documents =
            [root.appending(path: "README.md")]
            + (try FileManager.default.contentsOfDirectory(at: docs, includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "md" }
                .sorted { $0.lastPathComponent < $1.lastPathComponent })
            + catalogs
        let output = context.pluginWorkDirectoryURL.appending(path: "Snippets")
        let outputs = documents.map { document in
            let relative = String(document.path.dropFirst(root.path.count + 1))
            return output.appending(
                path: relative.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: ".md", with: ".swift"))
        }
        // Excerpts are checked against the sources they quote: rebuild when any source changes.
        let sources = try FileManager.default.subpathsOfDirectory(atPath: root.path)
            .filter {
                $0.hasSuffix(".swift") && ($0.hasPrefix("Modules/") || $0.hasPrefix("Apps/"))
            }
            .map { root.appending(path: $0) }
        return [
            .buildCommand(
                displayName: "Extracting the Swift blocks of \(documents.count) documents",
                executable: try context.tool(named: "DocSnippetExtractor").url,
                arguments: [root.path, output.path] + documents.map(\.path),
                inputFiles: documents + sources,
                outputFiles: outputs
            )
        ]
    }
}
