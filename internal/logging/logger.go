package logging

import "github.com/hashicorp/go-hclog"

// Logger logs for one component. A nil *Logger discards everything, so optional loggers need no
// checks at call sites. kv are alternating keys and values, printed as key=value.
type Logger struct {
	h hclog.Logger
}

// Discard returns a Logger that drops every line (tests).
func Discard() *Logger {
	return &Logger{h: hclog.NewNullLogger()}
}

// Error logs at ERROR: the daemon cannot do its job.
func (l *Logger) Error(msg string, kv ...any) {
	if l != nil {
		l.h.Error(msg, kv...)
	}
}

// Warning logs at WARNING: something is wrong but the daemon carries on.
func (l *Logger) Warning(msg string, kv ...any) {
	if l != nil {
		l.h.Warn(msg, kv...)
	}
}

// Notice logs at NOTICE: normal but significant events (start, stop, keys, epochs).
func (l *Logger) Notice(msg string, kv ...any) {
	if l != nil {
		l.h.Info(msg, kv...)
	}
}

// Info logs at INFO: routine events.
func (l *Logger) Info(msg string, kv ...any) {
	if l != nil {
		l.h.Debug(msg, kv...)
	}
}

// Debug logs at DEBUG, the only level at which packet, user or route identifiers may appear.
func (l *Logger) Debug(msg string, kv ...any) {
	if l != nil {
		l.h.Trace(msg, kv...)
	}
}

// Named returns a logger for a sub-component: "keyd" becomes "keyd.keystore".
func (l *Logger) Named(name string) *Logger {
	if l == nil {
		return nil
	}
	return &Logger{h: l.h.Named(name)}
}

// With returns a logger that adds kv to every line.
func (l *Logger) With(kv ...any) *Logger {
	if l == nil {
		return nil
	}
	return &Logger{h: l.h.With(kv...)}
}

// IsDebug reports whether DEBUG lines are written, so that callers can skip computing identifiers
// for lines that would be dropped.
func (l *Logger) IsDebug() bool {
	return l != nil && l.h.IsTrace()
}
