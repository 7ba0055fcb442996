import NIOCore

@testable import ChatTransport

/// The permessage-deflate handshake: ``WebSocketExtensionOffer/parse(headerValues:)`` and
/// ``NegotiatedDeflate/negotiate(offers:settings:)``, then one message through the compressor
/// and inflater for the windows agreed.
///
/// Input: the header values a client sent, one per line (a request may repeat the header).
///
/// Checks: parsed names and values are tokens; an accepted offer has windows of 8-15 written
/// as plain decimals in the offer; the 101's header value parses back to one
/// permessage-deflate element that negotiates to the same windows; and a message compressed
/// for the agreed server window inflates back to itself in a window of that size.
enum DeflateOfferFuzzer {
    static let compressors = FrameCompressors(settings: PerMessageDeflateSettings(minimumCompressedPayloadBytes: 0))
    nonisolated(unsafe) static var inflaters: [UInt8: MessageInflater] = [:]

    static func run(_ input: UnsafeRawBufferPointer) {
        let text = String(decoding: input, as: UTF8.self)
        let headerValues = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let offers = WebSocketExtensionOffer.parse(headerValues: headerValues)
        for offer in offers {
            precondition(isToken(offer.name), "extension name \(offer.name.debugDescription) is not a token")
            for parameter in offer.parameters {
                precondition(isToken(parameter.name), "parameter name \(parameter.name.debugDescription) is not a token")
                precondition(parameter.value.map(isToken) ?? true, "parameter value \(parameter.value!.debugDescription) is not a token")
            }
        }
        for keepsClientContext in [false, true] {
            let settings = PerMessageDeflateSettings(requestsClientNoContextTakeover: !keepsClientContext)
            guard let negotiated = NegotiatedDeflate.negotiate(offers: offers, settings: settings) else { continue }
            check(negotiated, acceptedFrom: offers, settings: settings)
            roundTrip(Array(text.utf8.prefix(2048)), windowBits: negotiated.serverMaxWindowBits)
        }
    }

    private static func check(_ negotiated: NegotiatedDeflate, acceptedFrom offers: [WebSocketExtensionOffer], settings: PerMessageDeflateSettings) {
        precondition((8...15).contains(negotiated.serverMaxWindowBits) && (8...15).contains(negotiated.clientMaxWindowBits))
        guard let accepted = offers.first(where: { NegotiatedDeflate.negotiate(offers: [$0], settings: settings) != nil }) else {
            preconditionFailure("negotiated without an acceptable offer")
        }
        precondition(NegotiatedDeflate.negotiate(offers: [accepted], settings: settings) == negotiated, "not the first acceptable offer")
        for parameter in accepted.parameters where parameter.name.lowercased().hasSuffix("_max_window_bits") {
            guard let value = parameter.value else { continue }
            let bits = parameter.name.lowercased() == "server_max_window_bits" ? negotiated.serverMaxWindowBits : negotiated.clientMaxWindowBits
            // RFC 7692 §7.1.2.1: the value is 1*DIGIT, 8 to 15, no leading zero.
            precondition(value == String(bits), "accepted \(parameter.name)=\(value.debugDescription) as \(bits)")
        }
        let response = WebSocketExtensionOffer.parse(headerValues: [negotiated.responseHeaderValue])
        precondition(response.count == 1 && response[0].name == NegotiatedDeflate.extensionName, "bad response \(negotiated.responseHeaderValue)")
        let again = NegotiatedDeflate.negotiate(offers: response, settings: settings)
        precondition(
            again?.serverMaxWindowBits == negotiated.serverMaxWindowBits && again?.clientMaxWindowBits == negotiated.clientMaxWindowBits
                && again?.clientNoContextTakeover == negotiated.clientNoContextTakeover,
            "the response \(negotiated.responseHeaderValue) does not describe what was agreed"
        )
    }

    /// What a client that agreed to `windowBits` sees: the server's message inflates in that window.
    private static func roundTrip(_ message: [UInt8], windowBits: UInt8) {
        guard let compressed = compressors.compressedPayload(ByteBuffer(bytes: message), windowBits: windowBits, allocator: .init()) else {
            preconditionFailure("compression failed for window \(windowBits)")
        }
        let inflater: MessageInflater
        if let existing = inflaters[windowBits] {
            inflater = existing
        } else {
            inflater = try! MessageInflater(windowBits: windowBits, keepsContext: false)
            inflaters[windowBits] = inflater
        }
        do {
            let inflated = try inflater.inflate(compressed, maximumBytes: message.count, allocator: .init())
            precondition(Array(inflated.readableBytesView) == message, "round trip changed the message (window \(windowBits))")
        } catch {
            preconditionFailure("the server's own message does not inflate in window \(windowBits): \(error)")
        }
    }

    private static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            (0x21...0x7E).contains(byte) && !#"()<>@,;:\"/[]?={}"#.utf8.contains(byte)
        }
    }
}
