/// The hash slot of a key on Redis Cluster: CRC16 (XMODEM) of the key, or of its hash tag, mod
/// 16384 (the cluster specification's algorithm).
///
/// A hash tag is the part between the first `{` and the first `}` after it, when that part is
/// not empty: `{room:7}:seq` and `{room:7}:recent` share a slot; `foo{}{bar}` hashes whole.
public enum RedisClusterSlot {
    public static let count = 16_384

    public static func of(_ key: String) -> Int {
        let bytes = Array(key.utf8)
        var hashed = bytes[...]
        if let open = bytes.firstIndex(of: UInt8(ascii: "{")),
            let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1
        {
            hashed = bytes[(open + 1)..<close]
        }
        return Int(crc16(hashed)) & (count - 1)
    }

    /// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0.
    static func crc16(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 {
                crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
            }
        }
        return crc
    }

    /// The key a command is routed by (common-cluster.md): argument 1 of a plain key command;
    /// the first declared KEY of EVAL/EVALSHA/FCALL; the stream after STREAMS of XREAD(GROUP);
    /// argument 2 of XGROUP/XINFO/OBJECT/MEMORY subcommands; the channel of SPUBLISH and
    /// SSUBSCRIBE. nil: the command has no key and may go to any master.
    public static func routingKey(of arguments: [String]) -> String? {
        guard let name = arguments.first?.uppercased() else { return nil }
        switch name {
        case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO":
            guard arguments.count > 3, let keys = Int(arguments[2]), keys > 0 else { return nil }
            return arguments[3]
        case "XREAD", "XREADGROUP":
            guard let streams = arguments.firstIndex(where: { $0.uppercased() == "STREAMS" }), streams + 1 < arguments.count else { return nil }
            return arguments[streams + 1]
        case "XGROUP", "XINFO", "OBJECT", "MEMORY":
            return arguments.count > 2 ? arguments[2] : nil
        case "PING", "ECHO", "INFO", "SCRIPT", "FUNCTION", "PUBLISH", "CLUSTER", "CLIENT", "CONFIG", "TIME", "DBSIZE",
            "FLUSHDB", "FLUSHALL", "WAIT", "AUTH", "HELLO", "SELECT", "COMMAND", "LASTSAVE", "SUBSCRIBE", "UNSUBSCRIBE":
            return nil
        default:
            return arguments.count > 1 ? arguments[1] : nil
        }
    }
}
