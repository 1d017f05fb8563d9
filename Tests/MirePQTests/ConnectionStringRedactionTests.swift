import Testing

@testable import MirePQ

/// Passwords never reach a description or an error message, whatever they contain. Inputs found
/// by `Fuzz/run redaction` are kept here.
@Suite("Connection string redaction")
struct ConnectionStringRedactionTests {
    @Test(arguments: [
        // Fuzz/run redaction: an '&' ended the value as if it were a URL query, so only "p" was
        // hidden and the rest of the password was shown.
        "p&#\u{7F}",
        // Fuzz/run redaction: a combining mark first joins the '=' before it into one Character,
        // so a search by Character found neither "password=" nor the password.
        "\u{6DF}secret",
        "\u{301}abc",
    ])
    func aConninfoPasswordIsHidden(_ password: String) {
        for text in ["host=db user=mire password=\(password) dbname=app", "password='\(password)' host=db"] {
            let configuration = PGConfiguration(url: text)
            #expect(!configuration.description.containsScalars(password), "\(configuration.description)")
            let message = "FATAL: password=\(password) rejected"
            #expect(!configuration.redacted(message).containsScalars(password))
        }
    }

    @Test func aQuotedPasswordWithEscapesIsHiddenAsWrittenAndAsRead() {
        // Fuzz/run redaction: the escaped form between the quotes (what the description shows)
        // was not among the secrets, only the form libpq reads.
        // As written: se\\cr\'et; as libpq reads it: se\cr'et.
        let configuration = PGConfiguration(url: #"host=db password='se\\cr\'et' dbname=app"#)
        #expect(!configuration.description.containsScalars(#"se\\cr\'et"#), "\(configuration.description)")
        #expect(!configuration.description.containsScalars(#"se\cr'et"#))
        #expect(!configuration.redacted(#"password=se\cr'et"#).containsScalars(#"se\cr'et"#))
    }

    @Test func aURLPasswordStartingWithACombiningMarkIsHidden() {
        let configuration = PGConfiguration(url: "postgresql://mire:\u{301}abc@db.example/app")
        #expect(!configuration.description.containsScalars("\u{301}abc"), "\(configuration.description)")
        #expect(!configuration.redacted("could not connect as mire:\u{301}abc").containsScalars("\u{301}abc"))
    }

    @Test func scalarSearchFindsASecretJoinedToTheCharacterBeforeIt() {
        #expect("=\u{301}x".containsScalars("\u{301}x"))
        #expect(!"=x".containsScalars("\u{301}x"))
        #expect("password=\u{301}x!".replacingScalars(of: "\u{301}x", with: "***") == "password=***!")
    }

    /// Review findings: libpq reads these as passwords, so they must be hidden too.
    @Test(arguments: [
        ("host=db password = s3cret dbname=app", "s3cret"),  // blanks around '='
        ("host=db password= s3cret dbname=app", "s3cret"),
        ("host=db password=abc\u{A0}def dbname=app", "abc\u{A0}def"),  // only ASCII blanks end a value
        (#"host=db password=sec\ ret dbname=app"#, "sec ret"),  // an escaped blank, as libpq reads it
        ("postgresql://mire:pa?ss@db.example/app", "pa?ss"),  // the user info ends at '@', not '?'
        ("postgresql://db.example/app?user=mire&password=q%26uery&sslmode=disable", "q&uery"),
        ("postgresql://db.example/app?user=mire&pass%77ord=s3cret", "s3cret"),  // libpq decodes keys too
        ("postgresql://db.example/app?ssl%70assword=k3y%21", "k3y!"),
    ])
    func passwordsLibpqReadsAreHidden(_ text: String, _ password: String) {
        let configuration = PGConfiguration(url: text)
        #expect(!configuration.description.containsScalars(password), "\(configuration.description)")
        #expect(!configuration.redacted("FATAL: password \(password) was refused").containsScalars(password))
    }

    @Test func aShortURLQueryPasswordIsHiddenInTheDescription() {
        let configuration = PGConfiguration(url: "postgresql://db.example/app?user=mire&pass%77ord=xy&x=1")
        #expect(configuration.description.containsScalars("pass%77ord=***&x=1"), "\(configuration.description)")
    }

    @Test func anSSLKeyPasswordKeywordIsHidden() {
        var configuration = PGConfiguration(url: "host=db dbname=app")
        configuration.keywords["sslpassword"] = "k3ypass"
        #expect(!configuration.description.containsScalars("k3ypass"), "\(configuration.description)")
        #expect(!configuration.redacted("could not decrypt with k3ypass").containsScalars("k3ypass"))
    }
}
