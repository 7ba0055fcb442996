import ChatCore
import Logging
import NIOCore

/// The read cache on Redis: each entry is one string key with a TTL (`SET … PX`), so expiry is
/// Redis's job and an invalidation is a DEL. Every operation is one key, so the cache needs no
/// hash tag on Redis Cluster.
///
/// Failures are thrown, not hidden: ``CachingRoomStore`` falls back to its store, logs and
/// counts them. Commands give up after the client's connect timeout while Redis is down, so a
/// cache outage slows a read by at most that much.
public final class RedisChatCache: ChatCache {
    private let client: any RedisCommandRunning
    private let namespace: String?

    /// - Parameter namespace: prefixes every key. A cache in front of a store that only this
    ///   process holds (the in-memory room store) must not share entries with other servers,
    ///   whose stores differ; in front of a shared store (MariaDB) leave it nil.
    public init(client: any RedisCommandRunning, namespace: String? = nil) {
        self.client = client
        self.namespace = namespace
    }

    private func name(_ key: ChatCacheKey) -> String {
        namespace.map { "\($0):\(key.name)" } ?? key.name
    }

    public func value(for key: ChatCacheKey) async throws -> [String]? {
        let reply = try await client.command(["GET", name(key)])
        switch reply {
        case .null:
            return nil
        case .bulkString(let buffer):
            guard let list = Self.decode(buffer) else {
                throw RedisError("cache entry \(name(key)) is malformed")
            }
            return list
        default:
            throw RedisError("GET \(name(key)) returned \(reply)")
        }
    }

    public func store(_ value: [String], for key: ChatCacheKey, ttl: Duration) async throws {
        try await client.command(["SET", name(key), Self.encode(value), "PX", String(ttl.milliseconds)])
    }

    public func invalidate(_ key: ChatCacheKey) async throws {
        try await client.command(["DEL", name(key)])
    }

    /// `length:bytes` per element, back to back: any string survives, and the empty list is an
    /// empty value, which a present key tells apart from a miss.
    static func encode(_ list: [String]) -> String {
        var text = ""
        for element in list {
            text += "\(element.utf8.count):"
            text += element
        }
        return text
    }

    static func decode(_ buffer: ByteBuffer) -> [String]? {
        var buffer = buffer
        var list: [String] = []
        while buffer.readableBytes > 0 {
            guard let colon = buffer.readableBytesView.firstIndex(of: UInt8(ascii: ":")),
                let lengthText = buffer.readString(length: colon - buffer.readerIndex),
                let length = Int(lengthText), length >= 0
            else { return nil }
            buffer.moveReaderIndex(forwardBy: 1)
            guard let element = buffer.readString(length: length) else { return nil }
            list.append(element)
        }
        return list
    }
}
