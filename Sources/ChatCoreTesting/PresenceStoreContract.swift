import ChatCore

/// What every ``PresenceStore`` must do.
public enum PresenceStoreContract {
    public static let cases: [ContractCase<any PresenceStore>] = [
        ContractCase("users who entered are listed once, sorted") { store in
            let room = Unique.room()
            let server = Unique.server()
            let bob = UserName(trusted: "bob")
            let alice = UserName(trusted: "alice")
            try await store.enter(bob, room: room, connection: ConnectionID(server: server, number: 1))
            try await store.enter(alice, room: room, connection: ConnectionID(server: server, number: 2))
            try await store.enter(bob, room: room, connection: ConnectionID(server: server, number: 3))
            try expectEqual(try await store.users(in: room), [alice, bob], "users")
        },
        ContractCase("a user stays until their last connection leaves") { store in
            let room = Unique.room()
            let server = Unique.server()
            let user = Unique.user()
            let tab1 = ConnectionID(server: server, number: 1)
            let tab2 = ConnectionID(server: server, number: 2)
            try await store.enter(user, room: room, connection: tab1)
            try await store.enter(user, room: room, connection: tab2)
            try await store.leave(user, room: room, connection: tab1)
            try expectEqual(try await store.users(in: room), [user], "after first tab closed")
            try await store.leave(user, room: room, connection: tab2)
            try expectEqual(try await store.users(in: room), [], "after last tab closed")
        },
        ContractCase("rooms are independent") { store in
            let first = Unique.room()
            let second = Unique.room()
            let user = Unique.user()
            let server = Unique.server()
            try await store.enter(user, room: first, connection: ConnectionID(server: server, number: 1))
            try expectEqual(try await store.users(in: second), [], "other room")
            try await store.leave(user, room: second, connection: ConnectionID(server: server, number: 1))
            try expectEqual(try await store.users(in: first), [user], "leaving elsewhere changes nothing")
        },
        ContractCase("leaving without having entered is harmless") { store in
            let room = Unique.room()
            try await store.leave(Unique.user(), room: room, connection: ConnectionID(server: Unique.server(), number: 9))
            try expectEqual(try await store.users(in: room), [], "users")
        },
        ContractCase("reaping a server removes only its connections") { store in
            let room = Unique.room()
            let dead = Unique.server()
            let alive = Unique.server()
            let gone = UserName(trusted: "gone")
            let both = UserName(trusted: "both")
            let stays = UserName(trusted: "stays")
            try await store.enter(gone, room: room, connection: ConnectionID(server: dead, number: 1))
            try await store.enter(both, room: room, connection: ConnectionID(server: dead, number: 2))
            try await store.enter(both, room: room, connection: ConnectionID(server: alive, number: 1))
            try await store.enter(stays, room: room, connection: ConnectionID(server: alive, number: 2))
            try await store.reap(server: dead)
            try expectEqual(try await store.users(in: room), [both, stays], "after reaping")
        },
    ]
}
