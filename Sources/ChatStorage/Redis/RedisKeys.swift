import ChatCore

/// Every key and channel the Redis adapters use, in one place, so that the layout can be read
/// (and changed) without hunting through the adapters. docs/operations.md ("Redis key layout")
/// lists it for operators.
///
/// One layout for a single Redis and for Redis Cluster: every operation (a command or a script
/// call) touches keys of one hash slot only, and every script gets all the keys it touches in
/// KEYS, the first one being the key a cluster client routes the call by.
///
/// Why rooms are tagged by a partition and not by their own id: the publish script appends each
/// message to the durable chat log in the same atomic call that numbers it (so "acknowledged ⇒
/// in the log exactly once" holds, docs/reliability.md), so the log stream it appends to must
/// live in the room's slot. One log stream per room would need the indexers to discover streams
/// (a SCAN of every node, again and again); instead there are ``partitions`` log streams, and
/// every key of a room carries its partition's tag `{chat:pN}` (N = room id mod ``partitions``).
/// The indexers consume a fixed, known set of streams; a room's keys and channels stay together
/// on one shard (a hot room is on one shard either way); the rooms of a cluster spread over as
/// many slots as there are partitions, which is more than the shards a deployment has.
///
/// Presence follows the same partitions: a server's room set and the lease scores of the servers
/// are kept per partition, so that entering, leaving, refreshing and reaping each touch one slot.
enum RedisKeys {
    /// How many partitions rooms, chat-log streams and presence are split into. Part of the
    /// layout: every chatd of a deployment must agree on it, and changing it moves every room
    /// (new key names: a new epoch, like the upgrade in docs/operations.md).
    static let partitions = 64

    /// The room's partition, 0 ..< ``partitions``.
    static func partition(of room: RoomID) -> Int {
        Int(((room.rawValue % Int64(partitions)) + Int64(partitions)) % Int64(partitions))
    }

    /// The hash tag shared by every key of a partition's rooms (and their shard channels).
    static func tag(_ partition: Int) -> String { "{chat:p\(partition)}" }
    static func tag(of room: RoomID) -> String { tag(partition(of: room)) }

    // MARK: Channels

    /// The pub/sub channel of a room: on a single Redis the seed's name (`chatroom:7`), so other
    /// tools can listen in; with sharded Pub/Sub it carries the room's tag (`chatroom:{chat:p7}:7`)
    /// so that the publish script's SPUBLISH is in the script's slot. (Redis 7.0.15 does not
    /// refuse an SPUBLISH of another slot inside a script, but a shard channel is carried only
    /// by the shard owning its slot: subscribers there would never hear it.)
    static func channel(_ room: RoomID, database: Int?, sharded: Bool) -> String {
        channelNamespace(database) + (sharded ? "chatroom:\(tag(of: room)):\(room.rawValue)" : "chatroom:\(room.rawValue)")
    }

    /// What goes in front of every channel name. Pub/Sub ignores SELECT: all databases of one
    /// Redis share a single channel space, so two deployments on databases 1 and 2 would hear
    /// each other's rooms (and take the other's messages for an epoch reset). Database 0 keeps
    /// the seed's names; any other puts its number in front (`db3:chatroom:7`).
    static func channelNamespace(_ database: Int?) -> String {
        guard let database, database != 0 else { return "" }
        return "db\(database):"
    }

    /// A room's presence events (`join NAME`, `leave NAME`), published by the presence scripts:
    /// `chat:presence:events:7`, or `chat:presence:events:{chat:p7}:7` with sharded Pub/Sub.
    static func presenceChannel(_ room: RoomID, database: Int?, sharded: Bool) -> String {
        presenceChannelPrefix(partition(of: room), database: database, sharded: sharded) + String(room.rawValue)
    }

    /// What precedes the room id in the presence channels of a partition's rooms.
    static func presenceChannelPrefix(_ partition: Int, database: Int?, sharded: Bool) -> String {
        channelNamespace(database) + (sharded ? "chat:presence:events:\(tag(partition)):" : "chat:presence:events:")
    }

    /// Admin commands for every server (``ControlCommand`` as JSON), in the database's
    /// channel namespace like every channel (``channelNamespace(_:)``). A broadcast channel
    /// (PUBLISH/SUBSCRIBE) on a cluster too: every server listens.
    static func control(database: Int?) -> String { channelNamespace(database) + "chatd:control" }

    // MARK: A room's keys (tag: its partition)

    static func roomPrefix(_ room: RoomID) -> String { "chat:room:\(tag(of: room)):\(room.rawValue):" }
    /// The room's last assigned sequence number (INCR).
    static func sequence(_ room: RoomID) -> String { roomPrefix(room) + "seq" }
    /// The room's recent messages: a stream capped with MAXLEN ~; fields `seq`, `epoch`,
    /// `message` (the payload published on the channel).
    static func recent(_ room: RoomID) -> String { roomPrefix(room) + "recent" }
    /// The room's epoch (``RoomEpoch``), created with its counter by the publish script.
    static func epoch(_ room: RoomID) -> String { roomPrefix(room) + "epoch" }
    /// A post id remembered for the post-id window (PX): `epoch:seq` of the first post.
    /// The user name is length-prefixed so no name and id can run into another pair.
    static func post(_ room: RoomID, user: UserName, id: PostID) -> String {
        roomPrefix(room) + "post:\(user.rawValue.utf8.count):\(user.rawValue):\(id.rawValue)"
    }

    // MARK: The durable chat log (one stream per partition)

    /// The durable chat-log stream of a partition: every message published in its rooms (field
    /// `message`, the channel's payload), read by the indexers' consumer group ``chatLogGroup``.
    static func chatLog(_ partition: Int) -> String { "chat:log:\(tag(partition))" }
    static func chatLog(of room: RoomID) -> String { chatLog(partition(of: room)) }
    /// Every partition's stream, in partition order.
    static var chatLogs: [String] { (0..<partitions).map(chatLog) }
    static let chatLogGroup = "chat-log-indexers"
    /// The single stream of the layout before partitions: drained by the indexers until empty
    /// (docs/operations.md, the upgrade note), then left alone.
    static let legacyChatLog = "chat:log"

    // MARK: Presence (tag: the room's partition)

    /// Who is in a room: a hash from connection (`server/number`) to user name.
    static func presence(_ room: RoomID) -> String { presencePrefix(partition(of: room)) + "room:\(room.rawValue)" }
    static func presencePrefix(_ partition: Int) -> String { "chat:presence:\(tag(partition)):" }
    /// The rooms of one partition in which a server holds connections (a set), so that reaping
    /// needs no scan.
    static func serverRooms(_ server: ServerID, partition: Int) -> String { presencePrefix(partition) + "server:\(server.rawValue):rooms" }
    /// The servers that hold presence in a partition, each scored by when its lease there
    /// expires (milliseconds, Redis's clock): its lease, refreshed while it lives; the sweepers
    /// reap the servers whose score has passed.
    static func presenceServers(_ partition: Int) -> String { presencePrefix(partition) + "servers" }

    /// A presence hash field. Reaping matches the server part exactly (the rest must be the
    /// number), so a server id containing `/` cannot take another server's connections along.
    static func presenceField(_ connection: ConnectionID) -> String {
        "\(connection.server.rawValue)/\(connection.number)"
    }

    // MARK: The admin heartbeat (tag: `{chatd:nodes}`)

    /// A server's heartbeat for the admin API (its ``NodeStatus`` as JSON, PX its TTL), and the
    /// set of servers that beat (a sorted set scored by expiry), so listing them needs no scan.
    /// One tag for all of them, so that the list's MGET is one slot.
    static func node(_ server: String) -> String { "\(nodes):\(server)" }
    static let nodes = "{chatd:nodes}"
}
