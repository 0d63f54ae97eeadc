package logging

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Options selects where and how much a Backend logs. The fields are those of the configuration's
// [Logging] section (config.Logging).
type Options struct {
	// Disable discards every line.
	Disable bool
	// File is the log file, appended to and created 0600; empty means standard error.
	File string
	// Level is one of ERROR, WARNING, NOTICE, INFO, DEBUG (any case); empty means NOTICE.
	Level string
}

// debugWarning is logged at WARNING when the level is DEBUG.
const debugWarning = "DEBUG logging is unsafe for production: it records packet and user identifiers"

// Backend owns a daemon's log output. Loggers obtained from it share its destination and level.
type Backend struct {
	root      hclog.Logger
	out       *output // nil when disabled
	level     hclog.Level
	debugOnce sync.Once
}

// New opens the log output described by opts. When the level is DEBUG it logs the warning that
// DEBUG is unsafe in production (see WarnIfDebug).
func New(opts Options) (*Backend, error) {
	level, err := parseLevel(opts.Level)
	if err != nil {
		return nil, err
	}
	if opts.Disable {
		return &Backend{root: hclog.NewNullLogger(), level: hclog.Off}, nil
	}
	out := &output{path: opts.File, now: time.Now}
	if opts.File == "" {
		out.w = os.Stderr
	} else {
		f, err := openLogFile(opts.File)
		if err != nil {
			return nil, fmt.Errorf("logging: %w", err)
		}
		out.file, out.w = f, f
	}
	b := newBackend(out, level)
	b.WarnIfDebug()
	return b, nil
}

// NewWriter returns a Backend that writes to w (tests, or a caller that owns its own stream).
// Reopen is a no-op on it and Close does not close w.
func NewWriter(w io.Writer, level string) (*Backend, error) {
	l, err := parseLevel(level)
	if err != nil {
		return nil, err
	}
	return newBackend(&output{w: w, now: time.Now}, l), nil
}

func newBackend(out *output, level hclog.Level) *Backend {
	root := hclog.New(&hclog.LoggerOptions{
		Level:       level,
		Output:      out,
		DisableTime: true, // output adds a UTC timestamp itself
		Color:       hclog.ColorOff,
	})
	return &Backend{root: root, out: out, level: level}
}

// Logger returns the logger for one component; name appears after the level on each line.
func (b *Backend) Logger(name string) *Logger {
	return &Logger{h: b.root.ResetNamed(name)}
}

// Level returns the spec's name of the configured level ("" when logging is disabled).
func (b *Backend) Level() string {
	if b.out == nil {
		return ""
	}
	return levelName(b.level)
}

// WarnIfDebug logs, once per Backend, a WARNING that DEBUG logging is unsafe for production when
// the level is DEBUG. New already calls it; a second call logs nothing.
func (b *Backend) WarnIfDebug() {
	if b.level != hclog.Trace {
		return
	}
	b.debugOnce.Do(func() { b.Logger("logging").Warning(debugWarning) })
}

// Reopen reopens the log file by path (call it on SIGHUP): after the operator renamed the file,
// new lines go to a new file at the configured path. On failure the old file stays in use and the
// error is returned. Without a log file it does nothing.
func (b *Backend) Reopen() error {
	if b.out == nil {
		return nil
	}
	if err := b.out.reopen(); err != nil {
		return fmt.Errorf("logging: reopen: %w", err)
	}
	return nil
}

// Close closes the log file; lines logged afterwards are dropped. Idempotent.
func (b *Backend) Close() error {
	if b.out == nil {
		return nil
	}
	return b.out.close()
}
