import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A listener that could not bind its address, said so that an operator knows which listener
/// and which flag: NIO's own error names neither, and chatd has two listeners (the API's and
/// the admin's, whose default port 9090 is also Prometheus's).
public struct ListenerUnavailable: Error, CustomStringConvertible {
    public let listener: String
    public let host: String
    public let port: Int
    public let flag: String
    public let reason: String

    public var description: String {
        "\(listener) cannot listen on \(host):\(port): \(reason); choose another port with \(flag) (0 picks a free one)"
    }

    /// Runs `body` (a listener's run), turning a failure to bind into this error.
    static func naming(_ listener: String, host: String, port: Int, flag: String, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as IOError where [EADDRINUSE, EADDRNOTAVAIL, EACCES].contains(error.errnoCode) {
            let reason: String
            switch error.errnoCode {
            case EADDRINUSE: reason = "the address is already in use (another chatd, or another server on that port)"
            case EACCES: reason = "permission denied (ports below 1024 need privileges)"
            default: reason = "no such address on this machine"
            }
            throw ListenerUnavailable(listener: listener, host: host, port: port, flag: flag, reason: reason)
        }
    }
}
