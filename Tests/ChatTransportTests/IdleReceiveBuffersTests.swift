import NIOCore
import Testing

@testable import ChatTransport

/// What NIO keeps of a connection's receive buffers with ``IdleReceiveBuffers``: driven through
/// NIO's own buffer pool, as a socket channel reading one buffer per wake-up does.
@Suite struct IdleReceiveBuffersTests {
    /// One read of `bytes` bytes through `pool`; returns the buffer read into.
    static func read(_ bytes: Int, from pool: inout NIOPooledRecvBufferAllocator) -> ByteBuffer {
        let (buffer, _) = pool.buffer(allocator: ByteBufferAllocator()) { buffer in
            buffer.writeRepeatingByte(1, count: min(bytes, buffer.writableBytes))
        }
        pool.record(actualReadBytes: min(bytes, buffer.readableBytes))
        return buffer
    }

    @Test func theKeptBufferIsTheFirstReadsAndLaterReadsGetFreshOnes() {
        var pool = NIOPooledRecvBufferAllocator(capacity: 1, recvAllocator: IdleReceiveBuffers())
        let first = Self.read(300, from: &pool)
        #expect(first.capacity == IdleReceiveBuffers.keptBufferBytes)
        for _ in 0..<3 {
            #expect(Self.read(300, from: &pool).capacity >= 300)  // NIO's adaptive sizes: 512 to start with
        }
        // One buffer kept, the small one, and never read into again; the later reads' buffers
        // went when their reads did.
        #expect(pool.count == 1)
        #expect(Self.read(1, from: &pool).capacity != IdleReceiveBuffers.keptBufferBytes)
    }

    @Test func laterBuffersGrowWithTheReads() {
        var allocator = IdleReceiveBuffers()
        _ = allocator.record(actualReadBytes: 16)
        #expect(allocator.buffer(allocator: ByteBufferAllocator()).capacity == 512)
        for _ in 0..<4 { _ = allocator.record(actualReadBytes: 512) }
        #expect(allocator.buffer(allocator: ByteBufferAllocator()).capacity > 512)
        #expect(allocator.nextBufferSize() == nil)
    }
}
