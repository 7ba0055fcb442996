/// Presence changes that touch several keys, each atomic in Redis so that a sweeper on another
/// server never sees a connection listed in a room but missing from its server's room set.
///
/// Each script also publishes the room's presence events on its channel
/// (``RedisKeys/presenceChannel(_:database:)``), `join NAME` for a user's first connection and
/// `leave NAME` for their last, in the same atomic step as the change. Telling first from
/// last reads the room's hash: O(connections in the room) per change.
enum RedisPresenceScripts {
    /// Whether `user` still has a connection in the room hash `key`.
    private static let present = """
        local function present(key, user)
            for _, name in ipairs(redis.call('HVALS', key)) do
                if name == user then return true end
            end
            return false
        end
        """

    /// KEYS: room hash, server's room set, set of presence servers.
    /// ARGV: field (`server/number`), user name, room id, server id, presence channel.
    /// Returns 1 when this was the user's first connection in the room.
    static let enter = present + """

        local first = not present(KEYS[1], ARGV[2])
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        redis.call('SADD', KEYS[2], ARGV[3])
        redis.call('SADD', KEYS[3], ARGV[4])
        if first then
            redis.call('PUBLISH', ARGV[5], 'join ' .. ARGV[2])
            return 1
        end
        return 0
        """

    /// KEYS: room hash. ARGV: field, user name, presence channel.
    /// Returns 1 when this was the user's last connection in the room.
    static let leave = present + """

        if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 and not present(KEYS[1], ARGV[2]) then
            redis.call('PUBLISH', ARGV[3], 'leave ' .. ARGV[2])
            return 1
        end
        return 0
        """

    /// Removes every connection of one server from every room it had presence in, and
    /// announces the leave of each user left without a connection there.
    /// KEYS: server's room set, set of presence servers, server's lease key.
    /// ARGV: server id, '1' to reap only when the lease has expired (sweepers) or '0' (goodbye),
    /// prefix of room hash keys, prefix of presence channels (the room id is appended to both).
    /// Returns the number of connections removed, or -1 when the lease is still held.
    static let reap = present + """

        if ARGV[2] == '1' and redis.call('EXISTS', KEYS[3]) == 1 then
            return -1
        end
        local prefix = ARGV[1] .. '/'
        local removed = 0
        for _, room in ipairs(redis.call('SMEMBERS', KEYS[1])) do
            local key = ARGV[3] .. room
            local users = {}
            local fields = redis.call('HGETALL', key)
            for i = 1, #fields, 2 do
                local field = fields[i]
                if string.sub(field, 1, #prefix) == prefix and string.find(string.sub(field, #prefix + 1), '^%d+$') then
                    redis.call('HDEL', key, field)
                    users[fields[i + 1]] = true
                    removed = removed + 1
                end
            end
            for user in pairs(users) do
                if not present(key, user) then
                    redis.call('PUBLISH', ARGV[4] .. room, 'leave ' .. user)
                end
            end
        end
        redis.call('DEL', KEYS[1])
        redis.call('SREM', KEYS[2], ARGV[1])
        return removed
        """
}
