import ChatCore
import Synchronization

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
        ContractCase("watchers are told of a user's first connection and last leave, once each") { store in
            let room = Unique.room()
            let user = Unique.user()
            let tab1 = ConnectionID(server: Unique.server(), number: 1)
            let tab2 = ConnectionID(server: Unique.server(), number: 2)
            let events = PresenceEvents()
            let watch = try await store.watch(room) { events.add($0) }
            try await store.enter(user, room: room, connection: tab1)
            try await store.enter(user, room: room, connection: tab2)
            try await store.leave(user, room: room, connection: tab1)
            try await store.leave(user, room: room, connection: tab1)  // again: nothing
            try await store.leave(user, room: room, connection: ConnectionID(server: Unique.server(), number: 3))  // never entered
            try await store.enter(Unique.user(), room: Unique.room(), connection: tab1)  // another room
            try await store.leave(user, room: room, connection: tab2)
            try await events.wait(for: 2)
            try expectEqual(
                events.events, [PresenceEvent(room: room, user: user, kind: .join), PresenceEvent(room: room, user: user, kind: .leave)],
                "one join, one leave"
            )
            await watch.cancel()
        },
        ContractCase("the last leave and a reaped server's users are told as leaves") { store in
            let room = Unique.room()
            let dead = Unique.server()
            let alive = Unique.server()
            let gone = Unique.user("gone")
            let stays = Unique.user("stays")
            let events = PresenceEvents()
            let watch = try await store.watch(room) { events.add($0) }
            try await store.enter(gone, room: room, connection: ConnectionID(server: dead, number: 1))
            try await store.enter(stays, room: room, connection: ConnectionID(server: dead, number: 2))
            try await store.enter(stays, room: room, connection: ConnectionID(server: alive, number: 1))
            try await store.reap(server: dead)
            try await store.leave(stays, room: room, connection: ConnectionID(server: alive, number: 1))
            try await events.wait(for: 4)
            try expectEqual(
                events.events,
                [
                    PresenceEvent(room: room, user: gone, kind: .join), PresenceEvent(room: room, user: stays, kind: .join),
                    PresenceEvent(room: room, user: gone, kind: .leave), PresenceEvent(room: room, user: stays, kind: .leave),
                ],
                "events"
            )
            await watch.cancel()
            try await store.enter(gone, room: room, connection: ConnectionID(server: alive, number: 2))
            try expectEqual(events.events.count, 4, "nothing after cancel")
        },
    ]
}

/// Collects presence events across threads and waits, with a deadline, for a count.
final class PresenceEvents: Sendable {
    private let state = Mutex<[PresenceEvent]>([])

    var events: [PresenceEvent] { state.withLock { $0 } }

    func add(_ event: PresenceEvent) {
        state.withLock { $0.append(event) }
    }

    func wait(for count: Int, within seconds: Int = 10) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(seconds))
        while events.count < count {
            guard ContinuousClock.now < deadline else {
                throw ContractViolation(message: "expected \(count) presence events, got \(events)", location: "PresenceEvents.wait")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
