import MireMacrosPlugin
import SwiftSyntaxMacroExpansion
import SwiftSyntaxMacrosGenericTestSupport
import Testing

@Suite("@MireEvent expansion")
struct MireEventExpansionTests {
    private let macros = ["MireEvent": MacroSpec(type: MireEventMacro.self, conformances: ["GeneratedEventDecoding"])]

    private func expect(
        _ source: String, expands expanded: String, diagnostics: [DiagnosticSpec] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        assertMacroExpansion(
            source, expandedSource: expanded, diagnostics: diagnostics, macroSpecs: macros,
            failureHandler: { Issue.record(Comment(rawValue: $0.message), sourceLocation: sourceLocation) })
    }

    @Test func everyCaseReadsItsValuesUnderSynthesizedCodablesKeys() {
        expect(
            """
            @MireEvent
            public enum AccountEvent: Codable {
                case opened(owner: String), closed
                case deposited(amount: Int64, note: String?)
                case pair(Int, label: Optional<String>, [String: Int])
                case `default`()
            }
            """,
            expands: """
                public enum AccountEvent: Codable {
                    case opened(owner: String), closed
                    case deposited(amount: Int64, note: String?)
                    case pair(Int, label: Optional<String>, [String: Int])
                    case `default`()
                }

                extension AccountEvent: MireCore.GeneratedEventDecoding {
                    public static func decodeStoredCase(
                        _ caseName: String, from payload: MireCore.StoredEventPayload
                    ) throws -> Self {
                        switch caseName {
                        case "opened":
                            return Self.`opened`(owner: try payload.decode((String).self, forKey: "owner"))
                        case "closed":
                            return Self.`closed`
                        case "deposited":
                            return Self.`deposited`(amount: try payload.decode((Int64).self, forKey: "amount"), note: try payload.decodeIfPresent((String).self, forKey: "note"))
                        case "pair":
                            return Self.`pair`(try payload.decode((Int).self, forKey: "_0"), label: try payload.decodeIfPresent((String).self, forKey: "label"), try payload.decode(([String: Int]).self, forKey: "_2"))
                        case "default":
                            return Self.`default`()
                        default:
                            throw payload.unknownCase(caseName)
                        }
                    }
                }
                """)
    }

    @Test func aStructIsRefused() {
        expect(
            """
            @MireEvent
            struct Deposited: Codable {
                var amount: Int
            }
            """,
            expands: """
                struct Deposited: Codable {
                    var amount: Int
                }
                """,
            diagnostics: [
                DiagnosticSpec(
                    message:
                        "@MireEvent applies to an enum of events (a struct event is decoded by Codable: mark it EventStruct)",
                    line: 1, column: 1)
            ])
    }

    @Test func customKeysOrDecodingAreRefused() {
        expect(
            """
            @MireEvent
            enum E: Codable {
                case a(x: Int)
                enum ACodingKeys: String, CodingKey {
                    case x = "y"
                }
            }
            """,
            expands: """
                enum E: Codable {
                    case a(x: Int)
                    enum ACodingKeys: String, CodingKey {
                        case x = "y"
                    }
                }
                """,
            diagnostics: [
                DiagnosticSpec(
                    message:
                        "@MireEvent reads the payloads synthesized Codable writes, and 'ACodingKeys' changes them: remove @MireEvent or the custom keys",
                    line: 4, column: 5)
            ])
        expect(
            """
            @MireEvent
            enum E: Codable {
                case a(x: Int)
                init(from decoder: any Decoder) throws {
                    self = .a(x: 1)
                }
            }
            """,
            expands: """
                enum E: Codable {
                    case a(x: Int)
                    init(from decoder: any Decoder) throws {
                        self = .a(x: 1)
                    }
                }
                """,
            diagnostics: [
                DiagnosticSpec(
                    message:
                        "@MireEvent reads the payloads synthesized Codable writes, and this init(from:) decodes its own: remove @MireEvent or the initializer",
                    line: 4, column: 5)
            ])
    }

    @Test func availabilityGuardedCasesAndUnrelatedDeclarationsAreLeftAlone() {
        expect(
            """
            @MireEvent
            enum E: Codable {
                case none
                @available(*, unavailable)
                case legacy(x: Int)
                init(from old: Int) { self = .none }
                enum ReportCodingKeys {}
            }
            """,
            expands: """
                enum E: Codable {
                    case none
                    @available(*, unavailable)
                    case legacy(x: Int)
                    init(from old: Int) { self = .none }
                    enum ReportCodingKeys {}
                }

                extension E: MireCore.GeneratedEventDecoding {
                    public static func decodeStoredCase(
                        _ caseName: String, from payload: MireCore.StoredEventPayload
                    ) throws -> Self {
                        switch caseName {
                        case "none":
                            return Self.`none`
                        default:
                            throw payload.unknownCase(caseName)
                        }
                    }
                }
                """)
    }

    @Test func keysDeclaredUnderIfConfigAreRefused() {
        expect(
            """
            @MireEvent
            enum E: Codable {
                case a(x: Int)
                #if DEBUG
                enum CodingKeys: String, CodingKey {
                    case a
                }
                #endif
            }
            """,
            expands: """
                enum E: Codable {
                    case a(x: Int)
                    #if DEBUG
                    enum CodingKeys: String, CodingKey {
                        case a
                    }
                    #endif
                }
                """,
            diagnostics: [
                DiagnosticSpec(
                    message:
                        "@MireEvent reads the payloads synthesized Codable writes, and 'CodingKeys' changes them: remove @MireEvent or the custom keys",
                    line: 5, column: 5)
            ])
    }
}
