/// Checks UTF-8 (RFC 3629) as it arrives in pieces, so a fragmented text message with an
/// invalid sequence is refused at the fragment that breaks it, not after the whole message
/// was buffered (RFC 6455 §8.1 asks endpoints to fail fast).
struct UTF8StreamValidator {
    /// Continuation bytes the current character still needs.
    private var remaining = 0
    /// Allowed range of the next continuation byte (narrower after E0, ED, F0 and F4).
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    /// Whether the input so far is a valid prefix of UTF-8 text.
    mutating func feed<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> Bool {
        for byte in bytes {
            if remaining > 0 {
                guard byte >= lower && byte <= upper else { return false }
                remaining -= 1
                lower = 0x80
                upper = 0xBF
                continue
            }
            switch byte {
            case 0x00...0x7F: continue
            case 0xC2...0xDF: remaining = 1
            case 0xE0: (remaining, lower) = (2, 0xA0)
            case 0xE1...0xEC, 0xEE...0xEF: remaining = 2
            case 0xED: (remaining, upper) = (2, 0x9F)  // no UTF-16 surrogates
            case 0xF0: (remaining, lower) = (3, 0x90)
            case 0xF1...0xF3: remaining = 3
            case 0xF4: (remaining, upper) = (3, 0x8F)  // nothing above U+10FFFF
            default: return false
            }
        }
        return true
    }

    /// Whether the input ended on a character boundary.
    var isAtCharacterBoundary: Bool { remaining == 0 }
}
