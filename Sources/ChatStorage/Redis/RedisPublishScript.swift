/// The publish step as one Lua script, so that numbering, history and delivery are one atomic
/// step in Redis: every server sees one order per room, and a message is in the history before
/// any subscriber can be handed it (the gap-free join relies on both).
///
/// The JSON payload is built by the caller up to `"seq":` and completed here, which avoids Lua's
/// cjson (it prints large integers such as millisecond timestamps as floats).
///
/// - KEYS[1]: the room's sequence counter; KEYS[2]: the room's recent-history stream.
/// - ARGV[1]: the pub/sub channel; ARGV[2]: the payload up to and including `"seq":`;
///   ARGV[3]: how many entries the stream keeps (approximately, at least that many);
///   ARGV[4]: where a missing counter restarts ('0': at 1). A counter is missing for a new room,
///   and for a known room when Redis lost its data (a restart without persistence); the
///   publisher then passes a little more than the highest `seq` it has seen, so numbering never
///   goes back: every socket would drop a repeated `seq` as already delivered.
/// - Returns the assigned sequence number.
enum RedisPublishScript {
    static let source = """
        if ARGV[4] ~= '0' and redis.call('EXISTS', KEYS[1]) == 0 then
            redis.call('SET', KEYS[1], ARGV[4])
        end
        local seq = redis.call('INCR', KEYS[1])
        local payload = ARGV[2] .. string.format('%d', seq) .. '}'
        redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'seq', seq, 'message', payload)
        redis.call('PUBLISH', ARGV[1], payload)
        return seq
        """
}
