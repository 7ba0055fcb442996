import ChatCore

/// A credential store with the user store its credentials belong to (credentials need an existing user).
public struct CredentialFixture: Sendable {
    public let users: any UserStore
    public let credentials: any CredentialStore

    public init(users: any UserStore, credentials: any CredentialStore) {
        self.users = users
        self.credentials = credentials
    }
}

/// What every ``CredentialStore`` must do.
public enum CredentialStoreContract {
    static func hash() -> TokenHash {
        TokenHash(hex: (0..<4).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 16).leftPadded(16) }.joined())
    }

    public static let cases: [ContractCase<CredentialFixture>] = [
        ContractCase("a token's hash finds its user") { fixture in
            let user = Unique.user()
            try await fixture.users.create(user)
            let token = hash()
            try expectEqual(try await fixture.credentials.user(holding: token), nil, "before add")
            try await fixture.credentials.addToken(token, for: user)
            try expectEqual(try await fixture.credentials.user(holding: token), user, "after add")
        },
        ContractCase("a user holds several tokens; removing one keeps the others") { fixture in
            let user = Unique.user()
            try await fixture.users.create(user)
            let first = hash()
            let second = hash()
            try await fixture.credentials.addToken(first, for: user)
            try await fixture.credentials.addToken(second, for: user)
            try expectEqual(try await fixture.credentials.removeToken(first), true, "removed")
            try expectEqual(try await fixture.credentials.user(holding: first), nil, "removed token")
            try expectEqual(try await fixture.credentials.user(holding: second), user, "other token")
            try expectEqual(try await fixture.credentials.removeToken(first), false, "removed twice")
        },
        ContractCase("a password hash is kept and replaced") { fixture in
            let user = Unique.user()
            try await fixture.users.create(user)
            try expectEqual(try await fixture.credentials.passwordHash(of: user), nil, "no password")
            try await fixture.credentials.setPasswordHash("$2b$04$first", for: user)
            try await fixture.credentials.setPasswordHash("$2b$04$second", for: user)
            try expectEqual(try await fixture.credentials.passwordHash(of: user), "$2b$04$second", "replaced")
        },
        ContractCase("tokens of one user are not another's") { fixture in
            let ann = Unique.user("ann")
            let bob = Unique.user("bob")
            try await fixture.users.create(ann)
            try await fixture.users.create(bob)
            let token = hash()
            try await fixture.credentials.addToken(token, for: ann)
            try expectEqual(try await fixture.credentials.user(holding: token), ann, "holder")
            try expectEqual(try await fixture.credentials.passwordHash(of: bob), nil, "bob's password")
        },
        ContractCase("deleting every user and credential forgets tokens and passwords") { fixture in
            let user = Unique.user()
            try await fixture.users.create(user)
            let token = hash()
            try await fixture.credentials.addToken(token, for: user)
            try await fixture.credentials.setPasswordHash("$2b$04$x", for: user)
            try await fixture.users.deleteAll()
            try await fixture.credentials.deleteAll()
            try expectEqual(try await fixture.credentials.user(holding: token), nil, "token")
            try expectEqual(try await fixture.credentials.passwordHash(of: user), nil, "password")
            try await fixture.users.create(user)
            try expectEqual(try await fixture.credentials.passwordHash(of: user), nil, "re-created user's password")
        },
    ]
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
