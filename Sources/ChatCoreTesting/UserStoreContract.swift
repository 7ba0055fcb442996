import ChatCore

/// What every ``UserStore`` must do.
public enum UserStoreContract {
    public static let cases: [ContractCase<any UserStore>] = [
        ContractCase("a created user exists") { store in
            let name = Unique.user()
            try expectEqual(try await store.contains(name), false, "before create")
            try await store.create(name)
            try expectEqual(try await store.contains(name), true, "after create")
        },
        ContractCase("a taken name is refused") { store in
            let name = Unique.user()
            try await store.create(name)
            try await expectChatError(.userNameTaken(name)) { try await store.create(name) }
        },
        ContractCase("names are exact: another case is another user") { store in
            let suffix = UInt32.random(in: 0...UInt32.max)
            let upper = UserName(trusted: "Ann-\(suffix)")
            let lower = UserName(trusted: "ann-\(suffix)")
            try await store.create(upper)
            try expectEqual(try await store.contains(lower), false, "other case before create")
            try await store.create(lower)
            try expectEqual(try await store.contains(lower), true, "other case after create")
        },
        ContractCase("names of 32 scalars in any script round-trip") { store in
            let digits = String(UInt64.random(in: 1_000_000_000...9_999_999_999))
            let name = UserName(trusted: "李小龍🙂" + digits + String(repeating: "é", count: 18))
            try expectEqual(name.rawValue.unicodeScalars.count, 32, "scalars")
            try await store.create(name)
            try expectEqual(try await store.contains(name), true, "stored")
        },
        ContractCase("delete all removes every user and frees the names") { store in
            let first = Unique.user()
            let second = Unique.user()
            try await store.create(first)
            try await store.create(second)
            try await store.deleteAll()
            try expectEqual(try await store.contains(first), false, "first after delete")
            try expectEqual(try await store.contains(second), false, "second after delete")
            try await store.create(first)
            try expectEqual(try await store.contains(first), true, "re-created")
        },
        ContractCase("concurrent creates of one name: exactly one wins") { store in
            let name = Unique.user()
            let wins = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<8 {
                    group.addTask { (try? await store.create(name)) != nil }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            try expectEqual(wins, 1, "successful creates")
        },
    ]
}
