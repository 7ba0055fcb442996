/// Server settings for permessage-deflate (RFC 7692).
public struct PerMessageDeflateSettings: Sendable, Equatable {
    /// Payloads shorter than this go out uncompressed: deflate's framing costs more than it
    /// saves on a short chat line, and skipping it saves CPU.
    public var minimumCompressedPayloadBytes: Int
    /// zlib level, 1 (fastest) to 9 (smallest). Each message is compressed once for all
    /// recipients, so a middle level is affordable.
    public var compressionLevel: Int32
    /// Answer every offer with `client_no_context_takeover` (RFC 7692 §7.1.1.2 lets a server do
    /// so). Clients then compress each message on its own, and the server inflates it with one
    /// inflater per event loop instead of one per connection (about 40 KB each).
    public var requestsClientNoContextTakeover: Bool

    public init(minimumCompressedPayloadBytes: Int = 128, compressionLevel: Int32 = 6, requestsClientNoContextTakeover: Bool = true) {
        self.minimumCompressedPayloadBytes = minimumCompressedPayloadBytes
        self.compressionLevel = compressionLevel
        self.requestsClientNoContextTakeover = requestsClientNoContextTakeover
    }
}

/// The permessage-deflate parameters agreed with one client.
///
/// The server always takes `server_no_context_takeover`: every outgoing message is compressed
/// on its own, so one compressed payload serves every recipient with the same window size.
public struct NegotiatedDeflate: Sendable, Equatable, Hashable {
    /// LZ77 window (base-2 log, 8–15) the server may use for what it sends.
    public let serverMaxWindowBits: UInt8
    /// Window the client compresses with; the inflater needs at least this.
    public let clientMaxWindowBits: UInt8
    /// Whether the client resets its compressor per message (so the server's inflater may too).
    public let clientNoContextTakeover: Bool
    /// Whether the offer gave `server_max_window_bits`, which an acceptance must repeat.
    private let answersServerMaxWindowBits: Bool
    /// Whether the offer gave `client_max_window_bits` a value, which the answer repeats.
    private let answersClientMaxWindowBits: Bool

    static let extensionName = "permessage-deflate"

    /// The first offer the server can honour, or nil when none: the connection then runs
    /// uncompressed (RFC 7692 §5: a server declines offers it cannot accept).
    static func negotiate(offers: [WebSocketExtensionOffer], settings: PerMessageDeflateSettings) -> NegotiatedDeflate? {
        for offer in offers where offer.name.lowercased() == extensionName {
            if let accepted = accept(offer, settings: settings) { return accepted }
        }
        return nil
    }

    private static func accept(_ offer: WebSocketExtensionOffer, settings: PerMessageDeflateSettings) -> NegotiatedDeflate? {
        var serverBits: UInt8?
        var clientBits: UInt8?
        var clientBitsOffered = false
        var serverNoTakeover = false
        var clientNoTakeover = false
        for parameter in offer.parameters {
            // RFC 7692 §7: an offer with an unknown, repeated or malformed parameter is declined.
            switch parameter.name.lowercased() {
            case "server_no_context_takeover":
                guard parameter.value == nil, !serverNoTakeover else { return nil }
                serverNoTakeover = true
            case "client_no_context_takeover":
                guard parameter.value == nil, !clientNoTakeover else { return nil }
                clientNoTakeover = true
            case "server_max_window_bits":
                guard serverBits == nil, let value = parameter.value, let bits = windowBits(value) else { return nil }
                serverBits = bits
            case "client_max_window_bits":
                guard !clientBitsOffered else { return nil }
                clientBitsOffered = true
                if let value = parameter.value {
                    guard let bits = windowBits(value) else { return nil }
                    clientBits = bits
                }
            default:
                return nil
            }
        }
        return NegotiatedDeflate(
            serverMaxWindowBits: serverBits ?? 15,
            clientMaxWindowBits: clientBits ?? 15,
            clientNoContextTakeover: clientNoTakeover || settings.requestsClientNoContextTakeover,
            answersServerMaxWindowBits: serverBits != nil,
            answersClientMaxWindowBits: clientBits != nil
        )
    }

    /// 8–15 written as a plain decimal (RFC 7692 §7.1.2: `1*DIGIT`, no leading zero or sign).
    /// Digits are checked first: `UInt8("+9")` is 9.
    private static func windowBits(_ value: String) -> UInt8? {
        guard value.utf8.count <= 2, value.first != "0", value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let bits = UInt8(value), (8...15).contains(bits)
        else { return nil }
        return bits
    }

    init(
        serverMaxWindowBits: UInt8 = 15,
        clientMaxWindowBits: UInt8 = 15,
        clientNoContextTakeover: Bool,
        answersServerMaxWindowBits: Bool = false,
        answersClientMaxWindowBits: Bool = false
    ) {
        self.serverMaxWindowBits = serverMaxWindowBits
        self.clientMaxWindowBits = clientMaxWindowBits
        self.clientNoContextTakeover = clientNoContextTakeover
        self.answersServerMaxWindowBits = answersServerMaxWindowBits
        self.answersClientMaxWindowBits = answersClientMaxWindowBits
    }

    /// The `Sec-WebSocket-Extensions` value of the 101 response.
    ///
    /// Window sizes are repeated only when the offer named them (RFC 7692 §7.1.2): an accepted
    /// `server_max_window_bits` must be echoed, and a `client_max_window_bits` without a value
    /// is best left unanswered, which keeps the client's default of 15.
    var responseHeaderValue: String {
        var value = Self.extensionName + "; server_no_context_takeover"
        if clientNoContextTakeover { value += "; client_no_context_takeover" }
        if answersServerMaxWindowBits { value += "; server_max_window_bits=\(serverMaxWindowBits)" }
        if answersClientMaxWindowBits { value += "; client_max_window_bits=\(clientMaxWindowBits)" }
        return value
    }
}
