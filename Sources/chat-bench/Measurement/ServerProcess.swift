#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A local server process watched through /proc (Linux): its CPU time and resident memory,
/// read from outside so the figures need nothing from the server itself.
struct ServerProcess: Sendable {
    let pid: Int32

    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    /// User plus system CPU seconds of every thread so far (`/proc/PID/stat`, utime + stime).
    func cpuSeconds() throws -> Double { try cpuTime().total }

    /// User and system CPU seconds of every thread so far (`/proc/PID/stat`, utime and stime).
    func cpuTime() throws -> CPUTime {
        let stat = try read("stat")
        // The command name in field 2 is in parentheses and may hold spaces: split after it.
        guard let close = stat.lastIndex(of: ")") else { throw Unreadable(description: "/proc/\(pid)/stat has no command name") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the name come field 3 (state) onwards; utime and stime are fields 14 and 15.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else {
            throw Unreadable(description: "/proc/\(pid)/stat: unexpected layout")
        }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return CPUTime(user: user / ticks, system: system / ticks)
    }

    /// Resident memory in bytes (`VmRSS` in `/proc/PID/status`).
    func residentBytes() throws -> Int {
        for line in try read("status").split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kibibytes = Int(parts[1]) { return kibibytes * 1024 }
        }
        throw Unreadable(description: "/proc/\(pid)/status has no VmRSS")
    }

    private func read(_ file: String) throws -> String {
        do {
            return try String(contentsOfFile: "/proc/\(pid)/\(file)", encoding: .utf8)
        } catch {
            throw Unreadable(description: "cannot read /proc/\(pid)/\(file) (is --server-pid a local, running process?): \(error)")
        }
    }
}

/// The servers given with `--server-pid`, summed: several chatd processes count as one server side.
struct ServerProcesses: Sendable {
    let processes: [ServerProcess]

    var isEmpty: Bool { processes.isEmpty }

    func cpuSeconds() throws -> Double { try cpuTime().total }
    func cpuTime() throws -> CPUTime { try processes.reduce(CPUTime(user: 0, system: 0)) { $0 + (try $1.cpuTime()) } }
    func residentBytes() throws -> Int { try processes.reduce(0) { $0 + (try $1.residentBytes()) } }
}
