import ChatCore

/// What every ``RoomStore`` must do.
public enum RoomStoreContract {
    public static let cases: [ContractCase<any RoomStore>] = [
        ContractCase("created rooms get fresh ascending ids and are listed") { store in
            let first = try await store.create()
            let second = try await store.create()
            try expect(second > first, "ids ascend: \(first) then \(second)")
            let all = try await store.all()
            try expect(all.contains(first) && all.contains(second), "both listed in \(all)")
            try expectEqual(all, all.sorted(), "list order")
            try expectEqual(Set(all).count, all.count, "distinct ids")
        },
        ContractCase("contains answers for created and never-created ids") { store in
            let room = try await store.create()
            try expectEqual(try await store.contains(room), true, "created room")
            try expectEqual(try await store.contains(RoomID(room.rawValue + 1_000_000)), false, "unknown room")
        },
        ContractCase("concurrent creates never share an id") { store in
            let ids = try await withThrowingTaskGroup(of: RoomID.self) { group in
                for _ in 0..<20 { group.addTask { try await store.create() } }
                return try await group.reduce(into: [RoomID]()) { $0.append($1) }
            }
            try expectEqual(Set(ids).count, ids.count, "distinct ids")
        },
    ]
}
