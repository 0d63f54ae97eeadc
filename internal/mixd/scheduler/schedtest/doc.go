// Package schedtest holds test helpers for the mixd scheduler: a fake clock
// that tests advance by hand, and the conformance suites that every
// scheduler.Queue implementation must pass, both on its own (RunQueueSuite)
// and under a running Scheduler (RunSchedulerSuite). The memory queue's
// tests and the disk queue's tests run the same suites, so the two cannot
// drift apart.
package schedtest
