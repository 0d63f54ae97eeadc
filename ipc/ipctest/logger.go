package ipctest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Entry is one recorded log line.
type Entry struct {
	Level string // ERROR, WARNING, INFO or DEBUG
	Msg   string
	KV    []any
}

// String renders the entry as one line.
func (e Entry) String() string { return fmt.Sprintf("%s %s %v", e.Level, e.Msg, e.KV) }

// Logger records what it is given and echoes it to the test log while
// the test runs. It satisfies ipc.Logger, including the optional Error
// method. It is safe for concurrent use.
type Logger struct {
	t       testing.TB
	mu      sync.Mutex
	entries []Entry
	done    bool // the test has ended: t.Log would panic
}

// NewLogger returns a logger bound to t.
func NewLogger(t testing.TB) *Logger {
	l := &Logger{t: t}
	t.Cleanup(func() {
		l.mu.Lock()
		l.done = true
		l.mu.Unlock()
	})
	return l
}

func (l *Logger) add(level, msg string, kv []any) {
	e := Entry{Level: level, Msg: msg, KV: append([]any(nil), kv...)}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, e)
	if !l.done {
		l.t.Log(e.String())
	}
}

// Error, Warning, Info and Debug record an entry at that level.
func (l *Logger) Error(msg string, kv ...any)   { l.add("ERROR", msg, kv) }
func (l *Logger) Warning(msg string, kv ...any) { l.add("WARNING", msg, kv) }
func (l *Logger) Info(msg string, kv ...any)    { l.add("INFO", msg, kv) }
func (l *Logger) Debug(msg string, kv ...any)   { l.add("DEBUG", msg, kv) }

// Entries returns a copy of everything logged so far.
func (l *Logger) Entries() []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Entry(nil), l.entries...)
}

// Find returns the first entry at level whose message contains substr.
func (l *Logger) Find(level, substr string) (Entry, bool) {
	for _, e := range l.Entries() {
		if e.Level == level && strings.Contains(e.Msg, substr) {
			return e, true
		}
	}
	return Entry{}, false
}
