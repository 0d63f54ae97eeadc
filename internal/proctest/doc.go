// Package proctest helps tests start the splitmix daemons and programs as
// real processes, as net/http/httptest helps tests start HTTP servers.
//
// Only tests (and benchmarks) import it: it calls testing.TB's Fatal and
// Cleanup, and its choices (SIGKILL with the test binary, a ten-second
// stop, logs tailed on failure) suit a test, not a daemon.
//
// What it offers:
//
//   - Build and MainWithBinaries compile the programs under cmd/ of this
//     module into a directory, once per test binary;
//   - Start and Launch run a program with its output in a log file; a
//     Proc says whether it exited, waits for its UNIX socket to answer,
//     and is stopped with SIGTERM and then SIGKILL after a deadline;
//   - Output and Run run a program to completion;
//   - Tail, ShortTempDir, FreePorts, WriteFile, TestWriter, Buffer,
//     WaitFor and Eventually are the small things such tests need around
//     them: a log's end, a directory short enough for UNIX socket paths,
//     loopback ports and configuration files for the programs, progress
//     into the test log, output read while it is written, and waiting for
//     a condition with a deadline instead of sleeping.
package proctest
