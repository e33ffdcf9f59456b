import Foundation
import Glibc

/// Children of `naksha dev` die with it, even after a `kill -9` of `naksha dev` itself: it
/// starts them with `NAKSHA_PARENT_PID` set to its pid, and a child that finds itself
/// re-parented (its parent died) sends itself SIGTERM — a graceful shutdown — and exits
/// for good ten seconds later if that has not finished.
///
/// (`PR_SET_PDEATHSIG` would fire when the *thread* that spawned the child exits, which in a
/// Swift concurrency pool is any idle moment; polling the parent id has no such trap.)
enum ParentWatch {
    static func startIfRequested(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let text = environment["NAKSHA_PARENT_PID"], let parent = Int32(text), parent > 1 else { return }
        let thread = Thread {
            while getppid() == parent { usleep(250_000) }
            kill(getpid(), SIGTERM)
            sleep(10)
            _exit(1)
        }
        thread.name = "naksha-parent-watch"
        thread.start()
    }
}
