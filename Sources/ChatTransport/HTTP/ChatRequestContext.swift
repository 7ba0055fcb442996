import Hummingbird
import NIOCore

/// The router's request context: Hummingbird's basic one plus the connection's remote
/// address, which access decisions are counted against (``ClientAddress``, in ``ChatAPI``).
struct ChatRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
