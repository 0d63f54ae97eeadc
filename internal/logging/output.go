package logging

import (
	"bytes"
	"io"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// timeFormat is the timestamp at the start of every line (always UTC).
const timeFormat = "2006-01-02T15:04:05.000Z"

// output is the destination shared by every Logger of a Backend. hclog formats a line and hands
// it over in one LevelWrite call; output replaces hclog's level tag with the spec's name, adds the
// timestamp and writes the line with a single Write under mu, so that Reopen can swap the file
// between two lines, never inside one.
type output struct {
	mu     sync.Mutex
	w      io.Writer // where lines go now
	file   *os.File  // the open log file, nil when w is stderr or discarded
	path   string    // the configured log file, "" for stderr
	closed bool
	now    func() time.Time
}

// openLogFile opens path for appending, creating it 0600.
func openLogFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
}

// Write is only reached if hclog ever writes without a level; it is kept as a plain pass-through.
func (o *output) Write(p []byte) (int, error) {
	return o.LevelWrite(hclog.NoLevel, p)
}

// LevelWrite implements hclog.LevelWriter. p is one formatted line without a timestamp (hclog's
// own is disabled), starting with hclog's level tag padded to seven bytes, e.g.
// "[INFO]  keyd: msg: key=value\n". The tag is replaced by the spec's name of the level.
func (o *output) LevelWrite(level hclog.Level, p []byte) (int, error) {
	n := len(p)
	rest := p
	if len(p) > 0 && p[0] == '[' {
		if end := bytes.IndexByte(p[:min(len(p), 8)], ']'); end > 0 {
			rest = bytes.TrimLeft(p[end+1:], " ")
		}
	}
	line := make([]byte, 0, len(timeFormat)+len(rest)+12)
	line = o.now().UTC().AppendFormat(line, timeFormat)
	line = append(line, " ["...)
	line = append(line, levelName(level)...)
	line = append(line, "] "...)
	line = append(line, rest...)

	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return n, nil
	}
	if _, err := o.w.Write(line); err != nil {
		return 0, err
	}
	return n, nil
}

// reopen replaces the log file with a fresh open of the same path. The new file is opened before
// the old one is closed, so a failure leaves logging going to the old file.
func (o *output) reopen() error {
	if o.path == "" {
		return nil
	}
	f, err := openLogFile(o.path)
	if err != nil {
		return err
	}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return f.Close()
	}
	old := o.file
	o.file, o.w = f, f
	o.mu.Unlock()
	if old != nil {
		return old.Close()
	}
	return nil
}

// close stops all output; lines logged afterwards are dropped. Idempotent.
func (o *output) close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	o.w = io.Discard
	if o.file != nil {
		f := o.file
		o.file = nil
		return f.Close()
	}
	return nil
}
