package logging

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/proctest"
)

func TestLevelFiltering(t *testing.T) {
	var buf proctest.Buffer
	b, err := NewWriter(&buf, "NOTICE")
	if err != nil {
		t.Fatal(err)
	}
	log := b.Logger("keyd")
	log.Error("error line")
	log.Warning("warning line")
	log.Notice("notice line")
	log.Info("info line")
	log.Debug("debug line")
	out := buf.String()
	for _, want := range []string{"error line", "warning line", "notice line"} {
		if !strings.Contains(out, want) {
			t.Errorf("NOTICE level: %q missing from output:\n%s", want, out)
		}
	}
	for _, unwanted := range []string{"info line", "debug line"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("NOTICE level: %q must be filtered out:\n%s", unwanted, out)
		}
	}
	if log.IsDebug() {
		t.Error("IsDebug() true at NOTICE")
	}
}

func TestEveryLevelFiltersBelowItself(t *testing.T) {
	names := LevelNames()
	for i, level := range names {
		var buf proctest.Buffer
		b, err := NewWriter(&buf, strings.ToLower(level)) // names are case-insensitive
		if err != nil {
			t.Fatal(err)
		}
		logAll(b.Logger("x"))
		for j, name := range names {
			present := strings.Contains(buf.String(), "["+name+"] x: line "+name)
			if want := j <= i; present != want {
				t.Errorf("level %s: line at %s present=%v, want %v", level, name, present, want)
			}
		}
	}
}

func logAll(l *Logger) {
	l.Error("line ERROR")
	l.Warning("line WARNING")
	l.Notice("line NOTICE")
	l.Info("line INFO")
	l.Debug("line DEBUG")
}

func TestLineFormat(t *testing.T) {
	var buf proctest.Buffer
	b, err := NewWriter(&buf, "DEBUG")
	if err != nil {
		t.Fatal(err)
	}
	b.out.now = func() time.Time { return time.Date(2026, 11, 21, 16, 0, 0, 0, time.FixedZone("CET", 3600)) }
	b.Logger("keyd").Notice("message", "key", "value")
	b.Logger("keyd").Named("store").Warning("w")
	want := "2026-11-21T15:00:00.000Z [NOTICE] keyd: message: key=value\n" +
		"2026-11-21T15:00:00.000Z [WARNING] keyd.store: w\n"
	if got := buf.String(); got != want {
		t.Errorf("output:\n%q\nwant:\n%q", got, want)
	}
}

func TestLevelNamesInOutput(t *testing.T) {
	var buf proctest.Buffer
	b, err := NewWriter(&buf, "DEBUG")
	if err != nil {
		t.Fatal(err)
	}
	logAll(b.Logger("d"))
	line := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[([A-Z]+)\] d: line ([A-Z]+)$`)
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("got %d lines, want 5:\n%s", len(lines), buf.String())
	}
	for i, l := range lines {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("line %q does not have the expected format", l)
			continue
		}
		if m[1] != m[2] || m[1] != LevelNames()[i] {
			t.Errorf("line %q: tag %s, want %s", l, m[1], LevelNames()[i])
		}
	}
	for _, hclogName := range []string{"[WARN]", "[TRACE]"} {
		if strings.Contains(buf.String(), hclogName) {
			t.Errorf("hclog's tag %s leaked into the output", hclogName)
		}
	}
}

func TestUnknownLevel(t *testing.T) {
	_, err := New(Options{Level: "VERBOSE"})
	if err == nil {
		t.Fatal("New accepted level VERBOSE")
	}
	for _, want := range []string{`"VERBOSE"`, "ERROR, WARNING, NOTICE, INFO, DEBUG"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestDefaultLevelIsNotice(t *testing.T) {
	b, err := NewWriter(&proctest.Buffer{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if b.Level() != "NOTICE" {
		t.Errorf("default level %q, want NOTICE", b.Level())
	}
}

func TestDebugWarning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	b, err := New(Options{File: path, Level: "DEBUG"})
	if err != nil {
		t.Fatal(err)
	}
	b.WarnIfDebug() // New already warned; this must not repeat it
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	data := readFile(t, path)
	if n := strings.Count(data, "[WARNING] logging: "+debugWarning); n != 1 {
		t.Errorf("DEBUG warning logged %d times, want once:\n%s", n, data)
	}

	path2 := filepath.Join(t.TempDir(), "log")
	b2, err := New(Options{File: path2, Level: "INFO"})
	if err != nil {
		t.Fatal(err)
	}
	b2.WarnIfDebug()
	b2.Close()
	if data := readFile(t, path2); data != "" {
		t.Errorf("warning logged at INFO: %q", data)
	}
}

func TestDisable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log")
	b, err := New(Options{Disable: true, File: path, Level: "DEBUG"})
	if err != nil {
		t.Fatal(err)
	}
	log := b.Logger("x")
	logAll(log)
	if log.IsDebug() {
		t.Error("IsDebug() true with logging disabled")
	}
	if err := b.Reopen(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("disabled logging created %s (stat: %v)", path, err)
	}
	// Disable still validates the level, so a typo is caught before it matters.
	if _, err := New(Options{Disable: true, Level: "LOUD"}); err == nil {
		t.Error("Disable hid an invalid level")
	}
}

func TestNilAndDiscardLoggers(t *testing.T) {
	var nilLogger *Logger
	logAll(nilLogger)
	logAll(nilLogger.Named("x").With("k", "v"))
	logAll(Discard())
	if nilLogger.IsDebug() || Discard().IsDebug() {
		t.Error("discarding loggers claim DEBUG")
	}
}

func TestFileModeAndAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, []byte("earlier\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := New(Options{File: path})
	if err != nil {
		t.Fatal(err)
	}
	b.Logger("x").Notice("later")
	b.Close()
	data := readFile(t, path)
	if !strings.HasPrefix(data, "earlier\n") || !strings.Contains(data, "x: later") {
		t.Errorf("file not appended to: %q", data)
	}

	fresh := filepath.Join(t.TempDir(), "new.log")
	b, err = New(Options{File: fresh})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	st, err := os.Stat(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("new log file mode %v, want 0600", st.Mode().Perm())
	}
}

func TestOpenFailureNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "log")
	_, err := New(Options{File: path})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("New with an unopenable file: %v, want an error naming %s", err, path)
	}
}

func TestRenameReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "splitmix.log")
	b, err := New(Options{File: path})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	log := b.Logger("x")
	log.Notice("before rotation")
	rotated := path + ".1"
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	log.Notice("after rename, before reopen")
	if err := b.Reopen(); err != nil {
		t.Fatal(err)
	}
	log.Notice("after reopen")

	old, cur := readFile(t, rotated), readFile(t, path)
	for _, want := range []string{"before rotation", "after rename, before reopen"} {
		if !strings.Contains(old, want) {
			t.Errorf("rotated file lacks %q:\n%s", want, old)
		}
	}
	if strings.Contains(old, "after reopen") {
		t.Errorf("rotated file got a line written after Reopen:\n%s", old)
	}
	if !strings.Contains(cur, "after reopen") || strings.Contains(cur, "before") {
		t.Errorf("new file content wrong:\n%s", cur)
	}
}

func TestReopenFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "logs")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(sub, "log")
	b, err := New(Options{File: path})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	moved := filepath.Join(dir, "moved")
	if err := os.Rename(sub, moved); err != nil { // the directory vanishes: reopen cannot create
		t.Fatal(err)
	}
	if err := b.Reopen(); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Reopen into a missing directory: %v, want an error naming %s", err, path)
	}
	b.Logger("x").Notice("still logging")
	if data := readFile(t, filepath.Join(moved, "log")); !strings.Contains(data, "still logging") {
		t.Errorf("after a failed Reopen lines were lost: %q", data)
	}
}

func TestCloseIsIdempotentAndDropsLaterLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	b, err := New(Options{File: path})
	if err != nil {
		t.Fatal(err)
	}
	log := b.Logger("x")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	log.Error("after close")
	if err := b.Reopen(); err != nil {
		t.Fatalf("Reopen after Close: %v", err)
	}
	log.Error("after close and reopen")
	if data := readFile(t, path); data != "" {
		t.Errorf("lines written after Close: %q", data)
	}
}

// TestConcurrentLoggingDuringReopen logs from several goroutines while the file is rotated
// repeatedly; under -race this checks the locking, and afterwards every line must be in exactly
// one of the files, whole.
func TestConcurrentLoggingDuringReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log")
	b, err := New(Options{File: path})
	if err != nil {
		t.Fatal(err)
	}
	const writers, perWriter, rotations = 8, 200, 20
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			log := b.Logger(fmt.Sprintf("w%d", w))
			for i := 0; i < perWriter; i++ {
				log.Notice("line", "n", i)
			}
		}()
	}
	for r := 0; r < rotations; r++ {
		if err := os.Rename(path, fmt.Sprintf("%s.%d", path, r)); err != nil {
			t.Fatal(err)
		}
		if err := b.Reopen(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(path + "*")
	if err != nil {
		t.Fatal(err)
	}
	whole := regexp.MustCompile(`^\S+ \[NOTICE\] w\d: line: n=\d+$`)
	total := 0
	for _, f := range files {
		for _, l := range strings.Split(readFile(t, f), "\n") {
			if l == "" {
				continue
			}
			if !whole.MatchString(l) {
				t.Fatalf("%s: torn line %q", f, l)
			}
			total++
		}
	}
	if total != writers*perWriter {
		t.Errorf("found %d lines in %d files, want %d", total, len(files), writers*perWriter)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
