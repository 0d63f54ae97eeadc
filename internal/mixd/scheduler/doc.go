// Package scheduler is mixd's packet scheduler: it holds each unwrapped
// Sphinx packet until the dispatch time its routing command asked for and
// then hands it to the next hop's send queue. That per-packet delay, chosen
// by the sender from an exponential distribution, is what makes the node a
// Poisson (Loopix-style) mix; the scheduler's job is to honour it within
// bounded memory and time.
//
// # Place in mixd
//
//	link listener -> NumSphinxWorkers crypto workers -> Scheduler.Push
//	              -> run loop -> Config.Dispatch -> per-link send queue
//
// # Design
//
// A Queue is a priority queue ordered by dispatch time (ties in push
// order). There are two: MemQueue, a binary heap under a mutex, and
// diskqueue.Queue, the same over a bbolt file. Workers call Push from many
// goroutines; it takes the queue's lock for one heap insertion and never
// waits for the run loop. One goroutine, the run loop, sleeps on a timer
// for the earliest packet, pops due packets in rounds and calls Dispatch
// for each. A push earlier than the loop's timer wakes the loop (see
// run for how this avoids a lock between them). Time comes from a Clock,
// so tests drive a fake one (schedtest.FakeClock) instead of sleeping.
//
// The memory queue keeps the caller's Item as is: no copy, and no
// allocation per packet once the heap has grown to its working size.
//
// # Configuration (docs/spec/mix-server.md, "Debug section")
//
//   - SchedulerQueueSize bounds the queue (MemOptions.Capacity,
//     diskqueue.Options.Capacity). When it is full, a packet chosen
//     uniformly among the queued ones and the new one is dropped
//     (DropQueueFull), so a flood cannot grow memory and the drop cannot
//     be aimed. The configuration layer maps "<= 0, unlimited" to a large
//     hard cap: this package always has a bound.
//   - SchedulerMaxBurst is Config.MaxBurst: the most packets one wake-up
//     dispatches. If more are due the loop goes round again at once,
//     checking for Close in between.
//   - SchedulerSlack is Config.Slack: a packet popped more than Slack after
//     its dispatch time is dropped (DropTooLate) rather than sent late,
//     since a late packet skews the delay distribution that hides it.
//   - SchedulerExternalMemoryQueue selects diskqueue.Queue.
//
// Config.MaxDelay, our addition, refuses packets due too far ahead
// (DropTooFar): the delay is chosen by the sender, and the caller sets the
// bound from the PKI document's maximum delay.
//
// Every dropped packet is counted by reason in Stats and, if
// Config.OnDrop is set, reported there.
//
// # Shutdown
//
// Close stops the loop and refuses further pushes (DropClosed); what is
// still queued stays in the queue. Drain then hands it to the caller,
// earliest first, to flush or discard and count; a disk queue may instead
// simply be closed and keep its packets for the next start.
//
// SECURITY: nothing here logs a packet, its timing or its next hop; Stats
// holds only counts and the earliest dispatch time. The random drop is
// seeded from crypto/rand so an outside observer cannot predict which
// packet a full queue sheds.
package scheduler
