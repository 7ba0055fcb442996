import ChatAuth
import ChatCore
import Testing

@Suite struct TokenAuthenticatorTests {
    @Test func tokensAre256RandomBitsAndOnlyTheirHashIsStored() async throws {
        let first = AccessToken.generate()
        let second = AccessToken.generate()
        #expect(first != second)
        #expect(first.count == 43, "32 bytes in unpadded base64url")
        #expect(first.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        let hash = AccessToken.hash(first)
        #expect(hash.hex.count == 64 && hash == AccessToken.hash(first) && hash != AccessToken.hash(second))
        #expect(!hash.description.contains(hash.hex), "a hash is never logged whole")
    }

    @Test func aRegisteredUsersTokenIdentifiesThemUntilRevoked() async throws {
        let credentials = InMemoryCredentialStore()
        let authenticator = TokenAuthenticator(credentials: credentials, bcryptCost: 4)
        let ann = UserName(trusted: "Ann")
        let token = try #require(try await authenticator.registered(ann, password: nil))
        #expect(try await credentials.user(holding: AccessToken.hash(token)) == ann, "stored by its hash")
        #expect(try await authenticator.identify(token) == Identity(user: ann))
        #expect(try await authenticator.identify(token + "x") == nil)
        #expect(try await authenticator.identify("") == nil)
        #expect(try await authenticator.revoke(token))
        #expect(try await authenticator.identify(token) == nil)
        #expect(try await authenticator.revoke(token) == false)
    }

    @Test func aPasswordIsKeptAsBcryptAndLogsInToANewToken() async throws {
        let credentials = InMemoryCredentialStore()
        let authenticator = TokenAuthenticator(credentials: credentials, bcryptCost: 4)
        let bob = UserName(trusted: "Bob")
        let first = try #require(try await authenticator.registered(bob, password: "correct horse"))
        let stored = try #require(try await credentials.passwordHash(of: bob))
        #expect(stored.hasPrefix("$2") && !stored.contains("correct horse"))
        #expect(try await authenticator.logIn(bob, password: "wrong horse") == nil)
        let second = try #require(try await authenticator.logIn(bob, password: "correct horse"))
        #expect(second != first)
        #expect(try await authenticator.identify(second)?.user == bob)
        #expect(try await authenticator.logIn(UserName(trusted: "Nobody"), password: "correct horse") == nil)
        await #expect(throws: ChatError.self) { _ = try await authenticator.registered(UserName(trusted: "Cy"), password: "short") }
    }

    @Test func secretsCompareInConstantTimeWithoutEarlyExits() {
        #expect(ConstantTime.equal("admin-token", "admin-token"))
        #expect(!ConstantTime.equal("admin-token", "admin-tokeN"))
        #expect(!ConstantTime.equal("admin-token", "admin-token-longer"))
        #expect(!ConstantTime.equal("", "x"))
        #expect(ConstantTime.equal("", ""))
    }

    @Test func jwtSettingsWithoutAUsableKeyAreRefused() async throws {
        await #expect(throws: JWTAuthenticator.InvalidKey.self) { _ = try await JWTAuthenticator.make(.init()) }
        await #expect(throws: JWTAuthenticator.InvalidKey.self) { _ = try await JWTAuthenticator.make(.init(secret: "too short")) }
        await #expect(throws: JWTAuthenticator.InvalidKey.self) { _ = try await JWTAuthenticator.make(.init(publicKeyPEM: "not a key")) }
        let authenticator = try await JWTAuthenticator.make(.init(secret: String(repeating: "s", count: 32)))
        #expect(try await authenticator.identify("not.a.jwt") == nil)
        #expect(try await authenticator.registered(UserName(trusted: "x"), password: nil) == nil, "jwt issues nothing")
    }
}
