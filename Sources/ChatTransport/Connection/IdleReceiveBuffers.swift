import NIOCore

/// Receive buffers for sockets that are idle nearly all the time, as joined chat connections are.
///
/// NIO keeps the first receive buffer a channel reads into and reuses it for later reads, for
/// the life of the channel: with NIO's adaptive allocator started at 512 bytes that is about
/// 600 resident bytes per idle connection (buffer, storage object, malloc headers). Here the
/// kept buffer is the first read's, 16 bytes; every later read gets a fresh buffer sized by
/// NIO's adaptive allocator (64 bytes to 64 KiB, from 512), freed once the pipeline is done with
/// it. The channel must read at most one buffer per wake-up (``apply(to:)``): with more, NIO
/// keeps one buffer per read of a wake-up as well.
///
/// The price is an allocation per read instead of a reused buffer, and one more read for the
/// request head at connect; both are per inbound message, never per delivery.
struct IdleReceiveBuffers: RecvByteBufferAllocator {
    /// The buffer NIO keeps: the first read's.
    static let keptBufferBytes = 16

    private var adaptive = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 64 * 1024)
    private var hasRead = false

    func buffer(allocator: ByteBufferAllocator) -> ByteBuffer {
        hasRead ? adaptive.buffer(allocator: allocator) : allocator.buffer(capacity: Self.keptBufferBytes)
    }

    /// No size hint: NIO then reuses its kept buffer only when told the next one will not grow,
    /// which ``record(actualReadBytes:)`` never says.
    func nextBufferSize() -> Int? { nil }

    mutating func record(actualReadBytes: Int) -> Bool {
        if hasRead { _ = adaptive.record(actualReadBytes: actualReadBytes) }
        hasRead = true
        return true
    }

    /// Sets `channel` up to read with these buffers, one buffer per wake-up.
    static func apply(to channel: any Channel) throws {
        try channel.syncOptions?.setOption(.maxMessagesPerRead, value: 1)
        try channel.syncOptions?.setOption(.recvAllocator, value: IdleReceiveBuffers())
    }
}
