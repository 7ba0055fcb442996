import HTTPTypes
import Hummingbird

extension RouteTable {
    /// Each path in the OpenAPI document's syntax (`{id}` for the router's `:id`) with its
    /// methods, lower-cased as the document's operation keys: what the document must list.
    var openAPIOperations: [String: Set<String>] {
        var operations: [String: Set<String>] = [:]
        for route in routes {
            let path = route.path.split(separator: "/", omittingEmptySubsequences: false)
                .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
                .joined(separator: "/")
            operations[path, default: []].insert(route.method.rawValue.lowercased())
        }
        return operations
    }
}
