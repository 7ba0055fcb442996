import CHiredis
import NIOCore

/// One Redis reply, copied out of hiredis's reply tree so that no C memory outlives the read.
public enum RESPValue: Hashable, Sendable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    case bulkString(ByteBuffer)
    case null
    case array([RESPValue])

    /// The reply as text: bulk and simple strings, and integers (Redis answers some commands
    /// with either, depending on the version).
    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let buffer): String(buffer: buffer)
        case .integer(let value): String(value)
        default: nil
        }
    }

    public var int: Int64? {
        switch self {
        case .integer(let value): value
        case .bulkString, .simpleString: string.flatMap { Int64($0) }
        default: nil
        }
    }

    public var array: [RESPValue]? {
        if case .array(let values) = self { values } else { nil }
    }

    public var isNull: Bool {
        if case .null = self { true } else { false }
    }

    /// Copies a reply tree hiredis built. The caller still owns (and frees) `reply`.
    init(copying reply: UnsafePointer<redisReply>, allocator: ByteBufferAllocator) {
        let node = reply.pointee
        switch node.type {
        case REDIS_REPLY_STRING:
            var buffer = allocator.buffer(capacity: node.len)
            if let bytes = node.str {
                buffer.writeBytes(UnsafeRawBufferPointer(start: bytes, count: node.len))
            }
            self = .bulkString(buffer)
        case REDIS_REPLY_STATUS:
            self = .simpleString(Self.text(node))
        case REDIS_REPLY_ERROR:
            self = .error(Self.text(node))
        case REDIS_REPLY_INTEGER:
            self = .integer(Int64(node.integer))
        case REDIS_REPLY_ARRAY:
            var values: [RESPValue] = []
            values.reserveCapacity(node.elements)
            for index in 0..<node.elements {
                if let element = node.element[index] {
                    values.append(RESPValue(copying: element, allocator: allocator))
                } else {
                    values.append(.null)
                }
            }
            self = .array(values)
        default:
            self = .null
        }
    }

    private static func text(_ node: redisReply) -> String {
        guard let bytes = node.str else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: node.len), as: UTF8.self)
    }
}

/// An error reply from Redis (`-ERR …`, `-NOSCRIPT …`), or a failure to talk to it at all.
public struct RedisError: Error, CustomStringConvertible, Sendable {
    public let description: String
    /// Whether Redis answered with this error (MOVED, NOSCRIPT, …) rather than not being reached.
    let isReply: Bool
    /// Whether the command certainly never reached Redis (no connection, the write failed), so
    /// that running it elsewhere cannot run it twice.
    let wasNotSent: Bool

    public init(_ description: String) {
        self.init(description, isReply: false, wasNotSent: false)
    }

    init(_ description: String, isReply: Bool, wasNotSent: Bool) {
        self.description = description
        self.isReply = isReply
        self.wasNotSent = wasNotSent
    }

    /// The error code Redis put first, such as `NOSCRIPT` or `WRONGTYPE`.
    public var code: Substring {
        description.prefix { $0 != " " }
    }
}

extension RESPValue {
    /// The reply, or a thrown ``RedisError`` when Redis answered with an error.
    func orThrow() throws(RedisError) -> RESPValue {
        if case .error(let message) = self { throw RedisError(message, isReply: true, wasNotSent: false) }
        return self
    }
}
