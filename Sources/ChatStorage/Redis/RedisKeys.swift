import ChatCore

/// Every key and channel the Redis adapters use, in one place, so that the layout can be read
/// (and changed) without hunting through the adapters.
///
/// Keys are addressed from Lua scripts without being declared in KEYS, which is fine on a single
/// Redis or a replicated pair, not on Redis Cluster.
enum RedisKeys {
    /// The pub/sub channel of a room: the seed's name, so other tools can listen in.
    static func channel(_ room: RoomID, database: Int?) -> String { channelNamespace(database) + "chatroom:\(room.rawValue)" }

    /// What goes in front of every channel name. Pub/Sub ignores SELECT: all databases of one
    /// Redis share a single channel space, so two deployments on databases 1 and 2 would hear
    /// each other's rooms (and take the other's messages for an epoch reset). Database 0 keeps
    /// the seed's names; any other puts its number in front (`db3:chatroom:7`).
    static func channelNamespace(_ database: Int?) -> String {
        guard let database, database != 0 else { return "" }
        return "db\(database):"
    }
    /// The room's last assigned sequence number (INCR).
    static func sequence(_ room: RoomID) -> String { "chat:room:\(room.rawValue):seq" }
    /// The room's recent messages: a stream capped with MAXLEN ~; fields `seq`, `epoch`,
    /// `message` (the payload published on the channel).
    static func recent(_ room: RoomID) -> String { "chat:room:\(room.rawValue):recent" }
    /// The room's epoch (``RoomEpoch``), created with its counter by the publish script.
    static func epoch(_ room: RoomID) -> String { "chat:room:\(room.rawValue):epoch" }
    /// A post id remembered for the post-id window (PX): `epoch:seq` of the first post.
    /// The user name is length-prefixed so no name and id can run into another pair.
    static func post(_ room: RoomID, user: UserName, id: PostID) -> String {
        "chat:room:\(room.rawValue):post:\(user.rawValue.utf8.count):\(user.rawValue):\(id.rawValue)"
    }

    /// The durable chat-log stream: every published message (field `message`, the channel's
    /// payload), read by the indexers' consumer group ``chatLogGroup``.
    static let chatLog = "chat:log"
    static let chatLogGroup = "chat-log-indexers"

    /// A room's presence events (`join NAME`, `leave NAME`), published by the presence scripts.
    static func presenceChannel(_ room: RoomID, database: Int?) -> String { presenceChannelPrefix(database) + String(room.rawValue) }
    static func presenceChannelPrefix(_ database: Int?) -> String { channelNamespace(database) + "chat:presence:events:" }

    /// Who is in a room: a hash from connection (`server/number`) to user name.
    static func presence(_ room: RoomID) -> String { presenceRoomPrefix + String(room.rawValue) }
    static let presenceRoomPrefix = "chat:presence:room:"
    /// The rooms in which a server holds connections (a set), so reaping needs no scan.
    static func serverRooms(_ server: ServerID) -> String { "chat:presence:server:\(server.rawValue):rooms" }
    /// Every server that holds presence entries (a set); the sweepers check each one's lease.
    static let presenceServers = "chat:presence:servers"
    /// A server's lease: present while the server lives, refreshed well within its TTL.
    static func lease(_ server: ServerID) -> String { "chatd:server:\(server.rawValue)" }
    /// A server's heartbeat for the admin API (its ``NodeStatus`` as JSON, PX its TTL), and the
    /// set of servers that beat (a sorted set scored by expiry), so listing them needs no scan.
    static func node(_ server: String) -> String { "chatd:node:\(server)" }
    static let nodes = "chatd:nodes"
    /// Admin commands for every server (``ControlCommand`` as JSON), in the database's
    /// channel namespace like every channel (``channelNamespace(_:)``).
    static func control(database: Int?) -> String { channelNamespace(database) + "chatd:control" }

    /// A presence hash field. Reaping matches the server part exactly (the rest must be the
    /// number), so a server id containing `/` cannot take another server's connections along.
    static func presenceField(_ connection: ConnectionID) -> String {
        "\(connection.server.rawValue)/\(connection.number)"
    }
}
