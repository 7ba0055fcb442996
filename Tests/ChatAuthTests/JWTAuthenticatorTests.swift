import ChatAuth
import ChatCore
import CryptoExtras
import Foundation
import JWTKit
import Testing

/// RS256 (the end-to-end tests cover HS256 and ES256 over loopback) and the claims chatd reads.
@Suite struct JWTAuthenticatorTests {
    struct Claims: JWTPayload {
        var sub: SubjectClaim
        var exp: ExpirationClaim
        var nbf: NotBeforeClaim?
        var iss: IssuerClaim?
        var rooms: [Int64]?

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    @Test func rs256TokensVerifyWithThePublicKeyAndCarryTheirClaims() async throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let signer = try await JWTKeyCollection().add(rsa: Insecure.RSA.PrivateKey(backing: key), digestAlgorithm: .sha256)
        let authenticator = try await JWTAuthenticator.make(.init(publicKeyPEM: key.publicKey.pemRepresentation, issuer: "https://id.example"))
        let expires = Date().addingTimeInterval(600)
        let valid = try await signer.sign(
            Claims(sub: .init(value: "Rita"), exp: .init(value: expires), iss: .init(value: "https://id.example"), rooms: [3, 5])
        )
        let identity = try #require(try await authenticator.identify(valid))
        #expect(identity.user == UserName(trusted: "Rita"))
        #expect(identity.rooms == [RoomID(3), RoomID(5)])
        #expect(identity.mayJoin(RoomID(5)) && !identity.mayJoin(RoomID(4)))
        #expect(abs((identity.expiresAt ?? 0) - Int64(expires.timeIntervalSince1970 * 1000)) < 1000)

        let notYet = try await signer.sign(
            Claims(sub: .init(value: "Rita"), exp: .init(value: expires), nbf: .init(value: Date().addingTimeInterval(300)), iss: .init(value: "https://id.example"))
        )
        #expect(try await authenticator.identify(notYet) == nil, "nbf in the future")
        let otherIssuer = try await signer.sign(Claims(sub: .init(value: "Rita"), exp: .init(value: expires), iss: .init(value: "https://elsewhere")))
        #expect(try await authenticator.identify(otherIssuer) == nil, "wrong iss")
        let badName = try await signer.sign(Claims(sub: .init(value: " padded "), exp: .init(value: expires), iss: .init(value: "https://id.example")))
        #expect(try await authenticator.identify(badName) == nil, "a sub that is no valid user name")
    }
}
