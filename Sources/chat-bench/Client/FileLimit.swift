import ArgumentParser

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// chat-bench's own open-file limit. Every connection is a descriptor, so a run of thousands
/// raises its soft limit to the hard one; the server's limit is the operator's (`ulimit -n`).
enum FileLimit {
    /// Raises the soft limit as far as the hard limit allows and returns the new soft limit.
    private static func raiseToHard() -> Int {
        var limit = rlimit()
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        guard getrlimit(resource, &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(resource, &limit)
            _ = getrlimit(resource, &limit)
        }
        return Int(clamping: limit.rlim_cur)
    }

    /// Raises the limit and fails with what to do when `sockets` descriptors would not fit.
    static func require(_ sockets: Int, _ what: String) throws {
        let limit = raiseToHard()
        guard sockets + 64 <= limit else {
            throw ValidationError("\(sockets) \(what) need more open files than chat-bench may have (\(limit)): raise `ulimit -n`")
        }
    }
}
