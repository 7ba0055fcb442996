/// Presence changes that touch several keys, each atomic in Redis so that a sweeper on another
/// server never sees a connection listed in a room but missing from its server's room set.
enum RedisPresenceScripts {
    /// KEYS: room hash, server's room set, set of presence servers.
    /// ARGV: field (`server/number`), user name, room id, server id.
    static let enter = """
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        redis.call('SADD', KEYS[2], ARGV[3])
        redis.call('SADD', KEYS[3], ARGV[4])
        return 1
        """

    /// Removes every connection of one server from every room it had presence in.
    /// KEYS: server's room set, set of presence servers, server's lease key.
    /// ARGV: server id, '1' to reap only when the lease has expired (sweepers) or '0' (goodbye),
    /// prefix of room hash keys (the room id is appended).
    /// Returns the number of connections removed, or -1 when the lease is still held.
    static let reap = """
        if ARGV[2] == '1' and redis.call('EXISTS', KEYS[3]) == 1 then
            return -1
        end
        local prefix = ARGV[1] .. '/'
        local removed = 0
        for _, room in ipairs(redis.call('SMEMBERS', KEYS[1])) do
            local key = ARGV[3] .. room
            for _, field in ipairs(redis.call('HKEYS', key)) do
                if string.sub(field, 1, #prefix) == prefix and string.find(string.sub(field, #prefix + 1), '^%d+$') then
                    redis.call('HDEL', key, field)
                    removed = removed + 1
                end
            end
        end
        redis.call('DEL', KEYS[1])
        redis.call('SREM', KEYS[2], ARGV[1])
        return removed
        """
}
