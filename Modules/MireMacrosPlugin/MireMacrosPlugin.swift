import SwiftCompilerPlugin
import SwiftSyntaxMacros

/// The compiler plugin that carries Mire's macros.
@main
struct MireMacrosPlugin: CompilerPlugin {
    let providingMacros: [any Macro.Type] = [MireEventMacro.self]
}
