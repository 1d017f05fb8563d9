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
        var nestedTypes: [(name: String, decl: DeclSyntax)] = []
        for decl in Self.members(of: enumDecl.memberBlock.members) {
            if let name = nestedTypeName(decl) { nestedTypes.append((name, decl)) }
            if let initializer = decl.as(InitializerDeclSyntax.self), Self.isDecodingInitializer(initializer) {
                throw MireEventDiagnostic.customDecoding.error(at: decl)
            }
            guard let caseDecl = decl.as(EnumCaseDeclSyntax.self) else { continue }
            // A case under `@available` (unavailable, deprecated, or newer than the target) is
            // left to Codable: naming it in generated code would not compile or would warn.
            let available = caseDecl.attributes.contains { attribute in
                attribute.as(AttributeSyntax.self)?.attributeName.trimmedDescription == "available"
            }
            if available { continue }
            for element in caseDecl.elements {
                cases.append(EventCase(element))
            }
        }
        // Synthesized Codable's keys are `CodingKeys` and `<Case>CodingKeys`: declaring either
        // changes the payloads.
        let keyNames = Set(
            ["CodingKeys"] + cases.map { $0.name.prefix(1).uppercased() + $0.name.dropFirst() + "CodingKeys" })
        if let custom = nestedTypes.first(where: { keyNames.contains($0.name) }) {
            throw MireEventDiagnostic.customCodingKeys(custom.name).error(at: custom.decl)
        }
        let switchCases = cases.map(\.switchCase).joined(separator: "\n")
        let decl: DeclSyntax = """
            extension \(type.trimmed): MireCore.GeneratedEventDecoding {
                public static func decodeStoredCase(
                    _ caseName: String, from payload: MireCore.StoredEventPayload
                ) throws -> Self {
                    switch caseName {
                    \(raw: switchCases)
                    default: throw payload.unknownCase(caseName)
                    }
                }
            }
            """
        guard let extensionDecl = decl.as(ExtensionDeclSyntax.self) else { return [] }
        return [extensionDecl]
    }

    /// The enum's member declarations, those inside `#if` clauses included.
    private static func members(of list: MemberBlockItemListSyntax) -> [DeclSyntax] {
        list.flatMap { item -> [DeclSyntax] in
            guard let conditional = item.decl.as(IfConfigDeclSyntax.self) else { return [item.decl] }
            return conditional.clauses.flatMap { clause -> [DeclSyntax] in
                guard case .decls(let nested) = clause.elements else { return [] }
                return members(of: nested)
            }
        }
    }

    /// `init(from: some Decoder)`: one parameter labelled `from` whose type names a decoder.
    private static func isDecodingInitializer(_ initializer: InitializerDeclSyntax) -> Bool {
        let parameters = initializer.signature.parameterClause.parameters
        guard parameters.count == 1, let parameter = parameters.first, parameter.firstName.text == "from" else {
            return false
        }
        return parameter.type.trimmedDescription.contains("Decoder")
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
        // `Self.` so that a case named `none` is not read as `Optional.none`.
        guard hasParentheses else { return "\(label) return Self.`\(name)`" }
        let arguments = values.map { value in
            let read =
                if let wrapped = value.optionalWrapped {
                    "try payload.decodeIfPresent((\(wrapped)).self, forKey: \(stringLiteral(value.key)))"
                } else {
                    "try payload.decode((\(value.type)).self, forKey: \(stringLiteral(value.key)))"
                }
            return value.label.map { "\($0): \(read)" } ?? read
        }
        return "\(label) return Self.`\(name)`(\(arguments.joined(separator: ", ")))"
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
