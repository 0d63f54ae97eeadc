// Package logging is the one logger every splitmix daemon uses: hashicorp/go-hclog behind a small
// API whose levels are those of the operator documentation (mix-server.md, "Logging
// section"): ERROR, WARNING, NOTICE, INFO and DEBUG.
//
// hclog has five levels too (Error, Warn, Info, Debug, Trace); they are mapped one to one in
// order, so NOTICE is hclog's Info and DEBUG is hclog's Trace, and every line shows the spec's
// name:
//
//	2026-11-21T15:00:00.000Z [NOTICE] keyd: serving: socket=/run/splitmix/keyd.sock
//
// (hclog puts a colon between the message and its key=value pairs.) Timestamps are UTC with
// millisecond precision.
//
// Output follows config.Logging: Disable discards everything; an empty File logs to standard
// error (the spec says standard output; stderr keeps standard output clean for the output of
// `-g`); a File is opened for appending, created 0600 if missing. Backend.Reopen, called on
// SIGHUP, reopens the file by path, so that log rotation by rename works: lines written before
// the rename stay in the renamed file, later ones go to a new file at File.
//
// Every method is safe for concurrent use, including Reopen and Close while other goroutines log.
//
// SECURITY: DEBUG records packet and user identifiers. New logs a WARNING when the level is DEBUG;
// callers must keep such identifiers out of lines logged above DEBUG.
package logging
