import SwiftDiagnostics
public import SwiftSyntax
import SwiftSyntaxBuilder
public import SwiftSyntaxMacros

/// `@MireEvent`: an extension that conforms an event enum to `GeneratedEventDecoding`, reading
/// each case's associated values under the keys synthesized `Codable` uses (the label, or `_0`,
/// `_1`, … for unlabeled values; `decodeIfPresent` for optionals).
public struct MireEventMacro: ExtensionMacro {
    public static func expansion(
        of node: AttributeSyntax, attachedTo declaration: some DeclGroupSyntax,
        providingExtensionsOf type: some TypeSyntaxProtocol, conformingTo protocols: [TypeSyntax],
        in context: some MacroExpansionContext
    ) throws -> [ExtensionDeclSyntax] {
        guard let enumDecl = declaration.as(EnumDeclSyntax.self) else {
            throw MireEventDiagnostic.notAnEnum.error(at: node)
        }
        var cases: [EventCase] = []
        for member in enumDecl.memberBlock.members {
            let decl = member.decl
            if let name = nestedTypeName(decl), name.hasSuffix("CodingKeys") {
                throw MireEventDiagnostic.customCodingKeys(name).error(at: decl)
            }
            if let initializer = decl.as(InitializerDeclSyntax.self),
                initializer.signature.parameterClause.parameters.first?.firstName.text == "from"
            {
                throw MireEventDiagnostic.customDecoding.error(at: decl)
            }
            guard let caseDecl = decl.as(EnumCaseDeclSyntax.self) else { continue }
            for element in caseDecl.elements {
                cases.append(EventCase(element))
            }
        }
        let access =
            enumDecl.modifiers.contains { ["public", "open"].contains($0.name.text) }
            ? "public " : enumDecl.modifiers.contains { $0.name.text == "package" } ? "package " : ""
        let switchCases = cases.map(\.switchCase).joined(separator: "\n")
        let decl: DeclSyntax = """
            extension \(type.trimmed): MireCore.GeneratedEventDecoding {
                \(raw: access)static func decodeStoredCase(
                    _ caseName: String, from payload: MireCore.StoredEventPayload
                ) throws -> Self? {
                    switch caseName {
                    \(raw: switchCases)
                    default: return nil
                    }
                }
            }
            """
        guard let extensionDecl = decl.as(ExtensionDeclSyntax.self) else { return [] }
        return [extensionDecl]
    }

    private static func nestedTypeName(_ decl: DeclSyntax) -> String? {
        if let nested = decl.as(EnumDeclSyntax.self) { return nested.name.text }
        if let nested = decl.as(StructDeclSyntax.self) { return nested.name.text }
        if let nested = decl.as(TypeAliasDeclSyntax.self) { return nested.name.text }
        return nil
    }
}

/// One case: its name and its associated values' keys and types.
private struct EventCase {
    var name: String
    var hasParentheses: Bool
    var values: [(label: String?, key: String, type: TypeSyntax, optionalWrapped: TypeSyntax?)]

    init(_ element: EnumCaseElementSyntax) {
        name = element.name.text.trimmingCharacters(in: "`")
        hasParentheses = element.parameterClause != nil
        values = []
        for (index, parameter) in (element.parameterClause?.parameters ?? []).enumerated() {
            let label = parameter.firstName.flatMap { $0.text == "_" ? nil : $0.text.trimmingCharacters(in: "`") }
            values.append(
                (label, label ?? "_\(index)", parameter.type.trimmed, Self.wrappedIfOptional(parameter.type)))
        }
    }

    /// `T` for `T?`, `T!` and `Optional<T>`: synthesized Codable reads those with decodeIfPresent.
    private static func wrappedIfOptional(_ type: TypeSyntax) -> TypeSyntax? {
        if let optional = type.as(OptionalTypeSyntax.self) { return optional.wrappedType.trimmed }
        if let optional = type.as(ImplicitlyUnwrappedOptionalTypeSyntax.self) { return optional.wrappedType.trimmed }
        if let named = type.as(IdentifierTypeSyntax.self), named.name.text == "Optional",
            let argument = named.genericArgumentClause?.arguments.first,
            named.genericArgumentClause?.arguments.count == 1
        {
            return TypeSyntax(stringLiteral: argument.argument.trimmedDescription)
        }
        return nil
    }

    var switchCase: String {
        let label = "case \(stringLiteral(name)):"
        guard hasParentheses else { return "\(label) return .`\(name)`" }
        let arguments = values.map { value in
            let read =
                if let wrapped = value.optionalWrapped {
                    "try payload.decodeIfPresent((\(wrapped)).self, forKey: \(stringLiteral(value.key)))"
                } else {
                    "try payload.decode((\(value.type)).self, forKey: \(stringLiteral(value.key)))"
                }
            return value.label.map { "\($0): \(read)" } ?? read
        }
        return "\(label) return .`\(name)`(\(arguments.joined(separator: ", ")))"
    }

    /// Case names and labels are identifiers: nothing in them needs escaping.
    private func stringLiteral(_ text: String) -> String { "\"\(text)\"" }
}

extension String {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        var text = Substring(self)
        while text.first == character { text = text.dropFirst() }
        while text.last == character { text = text.dropLast() }
        return String(text)
    }
}

/// Why `@MireEvent` refuses a declaration.
enum MireEventDiagnostic: DiagnosticMessage {
    case notAnEnum
    case customCodingKeys(String)
    case customDecoding

    var message: String {
        switch self {
        case .notAnEnum:
            "@MireEvent applies to an enum of events (a struct event is decoded by Codable: mark it EventStruct)"
        case .customCodingKeys(let name):
            "@MireEvent reads the payloads synthesized Codable writes, and '\(name)' changes them: remove @MireEvent or the custom keys"
        case .customDecoding:
            "@MireEvent reads the payloads synthesized Codable writes, and this init(from:) decodes its own: remove @MireEvent or the initializer"
        }
    }

    var diagnosticID: MessageID {
        switch self {
        case .notAnEnum: MessageID(domain: "MireMacros", id: "notAnEnum")
        case .customCodingKeys: MessageID(domain: "MireMacros", id: "customCodingKeys")
        case .customDecoding: MessageID(domain: "MireMacros", id: "customDecoding")
        }
    }

    var severity: DiagnosticSeverity { .error }

    func error(at node: some SyntaxProtocol) -> DiagnosticsError {
        DiagnosticsError(diagnostics: [Diagnostic(node: Syntax(node), message: self)])
    }
}
