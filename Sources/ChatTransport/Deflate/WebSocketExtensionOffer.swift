/// One extension a client offers in `Sec-WebSocket-Extensions` (RFC 6455 §9.1), with its
/// parameters in the order given. A quoted value is stored unquoted.
struct WebSocketExtensionOffer: Equatable, Sendable {
    struct Parameter: Equatable, Sendable {
        let name: String
        let value: String?
    }

    let name: String
    let parameters: [Parameter]

    /// Every offer in the header values, in order. An element that is not well formed is
    /// dropped on its own: the offers around it stay usable, and a bad offer is declined, not
    /// answered with a failed handshake.
    static func parse(headerValues: [String]) -> [WebSocketExtensionOffer] {
        headerValues.flatMap { value in
            splitOutsideQuotes(value, separator: ",").compactMap(parseElement)
        }
    }

    private static func parseElement(_ element: Substring) -> WebSocketExtensionOffer? {
        let parts = splitOutsideQuotes(element, separator: ";")
        guard let first = parts.first, let name = token(first) else { return nil }
        var parameters: [Parameter] = []
        for part in parts.dropFirst() {
            guard let parameter = parseParameter(part) else { return nil }
            parameters.append(parameter)
        }
        return WebSocketExtensionOffer(name: name, parameters: parameters)
    }

    private static func parseParameter(_ part: Substring) -> Parameter? {
        guard let equals = part.firstIndex(of: "=") else {
            return token(part).map { Parameter(name: $0, value: nil) }
        }
        guard let name = token(part[..<equals]) else { return nil }
        let rawValue = part[part.index(after: equals)...].trimmingWhitespace()
        if rawValue.first == "\"" {
            return unquote(rawValue).flatMap { unquoted in
                // RFC 6455 §9.1: a quoted value must still be a token once unquoted.
                token(Substring(unquoted)).map { Parameter(name: name, value: $0) }
            }
        }
        return token(rawValue).map { Parameter(name: name, value: $0) }
    }

    /// The token in `text` (surrounding white space ignored), or nil if it is not one (RFC 7230 §3.2.6).
    private static func token(_ text: Substring) -> String? {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty, trimmed.utf8.allSatisfy(isTokenCharacter) else { return nil }
        return String(trimmed)
    }

    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    private static func unquote(_ text: Substring) -> String? {
        guard text.count >= 2, text.first == "\"", text.last == "\"" else { return nil }
        var result = ""
        var escaped = false
        for character in text.dropFirst().dropLast() {
            if escaped {
                result.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                return nil
            } else {
                result.append(character)
            }
        }
        return escaped ? nil : result
    }

    /// Splits at `separator`, except inside quoted strings.
    private static func splitOutsideQuotes<S: StringProtocol>(_ text: S, separator: Character) -> [Substring] where S.SubSequence == Substring {
        var parts: [Substring] = []
        var start = text.startIndex
        var inQuotes = false
        var escaped = false
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if escaped {
                escaped = false
            } else if inQuotes && character == "\\" {
                escaped = true
            } else if character == "\"" {
                inQuotes.toggle()
            } else if !inQuotes && character == separator {
                parts.append(text[start..<index])
                start = text.index(after: index)
            }
            index = text.index(after: index)
        }
        parts.append(text[start..<text.endIndex])
        return parts.filter { !$0.trimmingWhitespace().isEmpty || separator == ";" }
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}
