import Synchronization
import Testing

@testable import NakshaCoordinator

/// The signal that replaced the 20 ms polls of `?wait`, the event stream and the lease
/// long-poll: a notification wakes every waiter, and a waiter always ends — by notification,
/// by its timeout, or by cancellation (even one that lands before it registered).
@Suite struct StateChangeSignalTests {
    @Test func aNotificationWakesEveryWaiter() async {
        let signal = StateChangeSignal()
        let woken = WokenCount()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    await signal.wait(timeout: .seconds(600))
                    woken.count.withLock { $0 += 1 }
                }
            }
            // Waiters register at their own pace: notify until all have woken (a lost
            // notification would leave this loop running into the test's time limit).
            while woken.count.withLock { $0 } < 50 {
                signal.notifyAll()
                await Task.yield()
            }
        }
        #expect(woken.count.withLock { $0 } == 50)
    }

    @Test func aWaiterEndsAtItsTimeoutWithoutANotification() async {
        let signal = StateChangeSignal()
        let start = ContinuousClock.now
        await signal.wait(timeout: .milliseconds(50))
        #expect(ContinuousClock.now - start >= .milliseconds(50))
    }

    @Test func cancellationEndsAWaiterBeforeOrAfterItRegisters() async {
        let signal = StateChangeSignal()
        for _ in 0..<200 {
            let waiter = Task { await signal.wait(timeout: .seconds(600)) }
            waiter.cancel()
            await waiter.value  // hangs (and the test times out) if a cancellation were lost
        }
        let late = Task { await signal.wait(timeout: .seconds(600)) }
        await Task.yield()
        late.cancel()
        await late.value
    }
}

private final class WokenCount: Sendable {
    let count = Mutex(0)
}
