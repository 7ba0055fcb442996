import ChatCore

/// The publish step as one Lua script, so that deduplication, numbering, history, the durable
/// chat-log stream and delivery are one atomic step in Redis: every server sees one order per room, a message is in the
/// history before any subscriber can be handed it (the gap-free join relies on both), and a
/// retried post id is answered from what the first post got.
///
/// The JSON payload (``EncodedChatMessage`` defines its format) is built by the caller up to
/// `"seq":` and completed here with the seq and the epoch (`…,"seq":7,"epoch":"k3m9q2xa"}`),
/// which avoids Lua's cjson (it prints large integers such as millisecond timestamps as floats).
///
/// Epochs: the room's epoch key is created together with its counter. When the counter is
/// missing, or lower than the newest entry of the room's recent stream (a failover to a lagging
/// replica, a restore from an older snapshot, a restart that kept the stream but not the
/// counter), or the epoch key is missing, the script starts a new epoch (ARGV[6], made by the
/// caller) and continues above the highest seq it can see. A new epoch is a reset for every
/// reader, so numbering never goes backwards silently. Not detected: a rollback of counter,
/// stream *and* epoch key together to one consistent older state (see docs/reliability.md).
///
/// Every key it touches is in KEYS, all under the room's partition tag (``RedisKeys``), so the
/// call is one slot and a cluster client routes it by KEYS[1]:
/// - KEYS[1]: the room's sequence counter; KEYS[2]: the room's recent-history stream;
///   KEYS[3]: the room's epoch; KEYS[4]: the post-id key (with ARGV[4] = '1'); KEYS[5]: the
///   partition's durable chat-log stream (with ARGV[7] = '1').
/// - ARGV[1]: the pub/sub channel; ARGV[2]: the payload up to and including `"seq":`;
///   ARGV[3]: how many entries the stream keeps (approximately, at least that many);
///   ARGV[4]: '1' when the post has an id (KEYS[4]), '' otherwise; ARGV[5]: how long a post id
///   is remembered, in milliseconds; ARGV[6]: the epoch to start if one must be started;
///   ARGV[7]: '1' to append to the chat log (KEYS[5]), '' when it is fed otherwise; ARGV[8]: its
///   hard cap (MAXLEN ~); ARGV[9]: 'SPUBLISH' (sharded Pub/Sub: the channel carries the room's
///   tag) or 'PUBLISH'.
/// - Returns `{published, epoch, seq}`: `published` is 1, or 0 for a repeated post id (then
///   `epoch` and `seq` are the first post's and nothing was published).
enum RedisPublishScript {
    /// KEYS for a post to `room`: a post without an id or a broker that does not feed the log
    /// still declares those keys (the script leaves them alone), so KEYS keep their places.
    static func keys(room: RoomID, user: UserName, postID: PostID?) -> [String] {
        [
            RedisKeys.sequence(room), RedisKeys.recent(room), RedisKeys.epoch(room),
            postID.map { RedisKeys.post(room, user: user, id: $0) } ?? RedisKeys.roomPrefix(room) + "post:none",
            RedisKeys.chatLog(of: room),
        ]
    }

    static let source = """
        if ARGV[4] ~= '' then
            local earlier = redis.call('GET', KEYS[4])
            if earlier then
                local colon = string.find(earlier, ':', 1, true)
                return {0, string.sub(earlier, 1, colon - 1), tonumber(string.sub(earlier, colon + 1))}
            end
        end
        local counter = redis.call('GET', KEYS[1])
        local epoch = redis.call('GET', KEYS[3])
        local highest = 0
        local newest = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
        if newest[1] then
            local fields = newest[1][2]
            for i = 1, #fields, 2 do
                if fields[i] == 'seq' then highest = tonumber(fields[i + 1]) end
            end
        end
        if not counter or not epoch or tonumber(counter) < highest then
            epoch = ARGV[6]
            redis.call('SET', KEYS[3], epoch)
            local start = highest
            if counter and tonumber(counter) > start then start = tonumber(counter) end
            redis.call('SET', KEYS[1], start)
        end
        local seq = redis.call('INCR', KEYS[1])
        local payload = ARGV[2] .. string.format('%d', seq) .. '\(EncodedChatMessage.tailOpening)' .. epoch .. '\(EncodedChatMessage.tailClosing)'
        redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'seq', seq, 'epoch', epoch, 'message', payload)
        if ARGV[7] ~= '' then
            redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[8], '*', 'message', payload)
        end
        redis.call(ARGV[9], ARGV[1], payload)
        if ARGV[4] ~= '' then
            redis.call('SET', KEYS[4], epoch .. ':' .. string.format('%d', seq), 'PX', ARGV[5])
        end
        return {1, epoch, seq}
        """
}
