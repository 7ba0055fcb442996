import Testing

@testable import ChatTransport

/// Parsing `Sec-WebSocket-Extensions` and choosing the permessage-deflate answer (RFC 7692).
@Suite struct DeflateNegotiationTests {
    typealias Offer = WebSocketExtensionOffer
    typealias Parameter = WebSocketExtensionOffer.Parameter

    @Test func offersAreParsedAcrossHeadersWithQuotedAndBareValues() {
        let offers = Offer.parse(headerValues: [
            #"permessage-deflate; client_max_window_bits; server_max_window_bits="10", x-foo"#,
            "permessage-deflate ;server_no_context_takeover",
        ])
        #expect(offers == [
            Offer(name: "permessage-deflate", parameters: [
                Parameter(name: "client_max_window_bits", value: nil),
                Parameter(name: "server_max_window_bits", value: "10"),
            ]),
            Offer(name: "x-foo", parameters: []),
            Offer(name: "permessage-deflate", parameters: [Parameter(name: "server_no_context_takeover", value: nil)]),
        ])
    }

    @Test func aMalformedElementIsDroppedAndItsNeighboursKept() {
        let offers = Offer.parse(headerValues: [#"bad name, permessage-deflate; a="unterminated, permessage-deflate; b=1,, "#])
        // "bad name" is not a token, the second element's quote swallows the rest of the value.
        #expect(offers.map(\.name) == [])
        let good = Offer.parse(headerValues: [#"bad name, permessage-deflate; server_max_window_bits="1,2""#, "permessage-deflate"])
        #expect(good == [Offer(name: "permessage-deflate", parameters: [])])
    }

    struct Case: Sendable, CustomStringConvertible {
        let header: String
        let response: String?
        var description: String { header }
    }

    static let cases: [Case] = [
        Case(header: "permessage-deflate", response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
        Case(header: "permessage-deflate; client_max_window_bits",
             response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
        Case(header: "permessage-deflate; client_max_window_bits=10",
             response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=10"),
        Case(header: "permessage-deflate; server_max_window_bits=8",
             response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8"),
        Case(header: "permessage-deflate; server_max_window_bits=15; server_no_context_takeover",
             response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15"),
        // Bad offers are declined; a later good one is taken.
        Case(header: "permessage-deflate; server_max_window_bits=7, permessage-deflate",
             response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
        Case(header: "permessage-deflate; server_max_window_bits=16", response: nil),
        Case(header: "permessage-deflate; server_max_window_bits=010", response: nil),
        Case(header: "permessage-deflate; server_max_window_bits", response: nil),
        Case(header: "permessage-deflate; client_max_window_bits=x", response: nil),
        // Signed values: `UInt8("+9")` is 9, but RFC 7692 allows digits only (found with FuzzDeflateOffer's check).
        Case(header: "permessage-deflate; server_max_window_bits=+9", response: nil),
        Case(header: #"permessage-deflate; client_max_window_bits="+9""#, response: nil),
        Case(header: "permessage-deflate; server_no_context_takeover=1", response: nil),
        Case(header: "permessage-deflate; client_no_context_takeover; client_no_context_takeover", response: nil),
        Case(header: "permessage-deflate; unknown_parameter", response: nil),
        Case(header: "x-webkit-deflate-frame", response: nil),
        Case(header: "x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=12; client_max_window_bits=9",
             response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=9"),
    ]

    @Test(arguments: cases)
    func theFirstOfferTheServerCanHonourIsAnswered(_ test: Case) {
        let negotiated = NegotiatedDeflate.negotiate(offers: Offer.parse(headerValues: [test.header]), settings: .init())
        #expect(negotiated?.responseHeaderValue == test.response)
    }

    @Test func theClientsContextTakeoverIsKeptWhenTheServerDoesNotAskOtherwise() {
        let settings = PerMessageDeflateSettings(requestsClientNoContextTakeover: false)
        let keeps = NegotiatedDeflate.negotiate(offers: Offer.parse(headerValues: ["permessage-deflate; client_max_window_bits=11"]), settings: settings)
        #expect(keeps?.clientNoContextTakeover == false)
        #expect(keeps?.clientMaxWindowBits == 11)
        #expect(keeps?.responseHeaderValue == "permessage-deflate; server_no_context_takeover; client_max_window_bits=11")
        let resets = NegotiatedDeflate.negotiate(offers: Offer.parse(headerValues: ["permessage-deflate; client_no_context_takeover"]), settings: settings)
        #expect(resets?.clientNoContextTakeover == true)
    }
}
