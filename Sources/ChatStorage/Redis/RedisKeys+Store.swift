extension RedisKeys {
    /// The hash tag of every key of the Redis user and room stores (`--redis` without
    /// `--mariadb`). Redis Cluster hashes only the part in braces, so all of them sit in one slot
    /// and a script may touch any of them together, on a single Redis and on a cluster alike.
    static let storeTag = "{chat:store}"
    /// Every user name (a set): SADD is the atomic "create unless taken" of all servers.
    static let storeUsers = storeTag + ":users"
    /// Token hash (lower-case hex) → user name (a hash).
    static let storeTokens = storeTag + ":tokens"
    /// User name → bcrypt password hash (a hash).
    static let storePasswords = storeTag + ":passwords"
    /// The last room id handed out (INCR): ids grow across every server and never repeat while
    /// Redis keeps its data.
    static let storeRoomCounter = storeTag + ":room-id"
    /// Every room id, scored by itself (a sorted set), so the list reads out ascending.
    static let storeRooms = storeTag + ":rooms"
}
