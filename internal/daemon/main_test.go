package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Main runs in a child (it hardens the process and takes the signals): the "main" child runs a
// test daemon, "testd", whose configuration file holds one word that says what it does. The
// child writes Main's stdout and stderr to its stdout, prefixed "out: " and "err: ".
const (
	mainArgsEnv  = "SPLITMIX_DAEMON_TEST_MAIN_ARGS"  // Main's args, one a line
	mainNoGenEnv = "SPLITMIX_DAEMON_TEST_MAIN_NOGEN" // set: the daemon has no -g
)

func init() { children["main"] = childMain }

func childMain() int {
	out := &prefixWriter{w: os.Stdout, prefix: "out: "}
	errw := &prefixWriter{w: os.Stdout, prefix: "err: "}
	p := Program[string]{
		Name: "testd",
		Load: func(path string) (string, error) {
			b, err := os.ReadFile(path)
			if err != nil {
				return "", err
			}
			cfg := strings.TrimSpace(string(b))
			// Harden ran first: the umask is already 0077.
			fmt.Printf("load %s umask=%s\n", cfg, umask())
			if cfg == "bad-config" {
				return "", errors.New("bad config")
			}
			return cfg, nil
		},
		Generate: func(cfg string, stdout io.Writer) error {
			if cfg == "generate-fails" {
				return errors.New("generation failed")
			}
			_, err := fmt.Fprintf(stdout, "public key of %s\n", cfg)
			return err
		},
		GenerateOnly: func(cfg string) bool { return cfg == "generate-only" },
		Serve: func(ctx context.Context, hup <-chan struct{}, cfg string) error {
			if cfg == "serve-fails" {
				return errors.New("cannot serve")
			}
			fmt.Println("serving")
			for {
				select {
				case <-hup:
					fmt.Println("hup")
				case <-ctx.Done():
					fmt.Println("stopping")
					return nil
				}
			}
		},
	}
	if os.Getenv(mainNoGenEnv) != "" {
		p.Generate = nil
	}
	var args []string
	if a := os.Getenv(mainArgsEnv); a != "" {
		args = strings.Split(a, "\n")
	}
	return Main(p, args, out, errw)
}

// umask is the process's umask as /proc/self/status gives it.
func umask() string {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for l := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "Umask:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// prefixWriter writes each line to w with prefix before it.
type prefixWriter struct {
	w       io.Writer
	prefix  string
	midLine bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	var out bytes.Buffer
	for _, c := range b {
		if !p.midLine {
			out.WriteString(p.prefix)
			p.midLine = true
		}
		out.WriteByte(c)
		if c == '\n' {
			p.midLine = false
		}
	}
	if _, err := p.w.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}

// startMain starts the "main" child with args and the configuration file holding cfg (none if
// cfg is empty); -f is added unless args hold one.
func startMain(t *testing.T, cfg string, generate bool, args ...string) (*os.Process, func() int, <-chan string) {
	t.Helper()
	if cfg != "" && !slices.Contains(args, "-f") {
		path := filepath.Join(t.TempDir(), "testd.toml")
		if err := os.WriteFile(path, []byte(cfg+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append([]string{"-f", path}, args...)
	}
	env := []string{mainArgsEnv + "=" + strings.Join(args, "\n")}
	if !generate {
		env = append(env, mainNoGenEnv+"=1")
	}
	cmd, lines := startChild(t, "main", env)
	return cmd.Process, func() int { return waitExit(t, cmd) }, lines
}

// allLines returns every line the child writes until it closes stdout.
func allLines(t *testing.T, lines <-chan string) []string {
	t.Helper()
	var all []string
	deadline := time.After(waitLimit)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return all
			}
			all = append(all, l)
		case <-deadline:
			t.Fatalf("the child did not finish; it said %q", all)
		}
	}
}

// TestMainRunsToCompletion covers every path of Main that ends without a signal: the output, in
// order, and the exit status.
func TestMainRunsToCompletion(t *testing.T) {
	// The usage text ends in a newline and Main prints it with Println: a blank line follows, as
	// the daemons always printed it.
	usage := []string{
		"err: Usage of testd:",
		"err:   -f string",
		"err:     \tPath to the server config file. (default \"katzenpost.toml\")",
		"err:   -g\tGenerate the keys and exit immediately.",
		"err: ",
	}
	usageNoGen := append(slices.Clone(usage[:3]), "err: ")
	missing := filepath.Join(t.TempDir(), "missing.toml")
	for _, c := range []struct {
		name     string
		cfg      string // the config file's word; "" for none
		generate bool   // the daemon has -g
		args     []string
		want     []string
		code     int
	}{
		{"help", "", true, []string{"-h"}, usage, 0},
		{"help without -g", "", false, []string{"-h"}, usageNoGen, 0},
		{"unknown flag", "", true, []string{"-x"},
			append([]string{"err: flag provided but not defined: -x"}, usage...), 2},
		{"-g without Generate", "ok", false, []string{"-g"},
			append([]string{"err: flag provided but not defined: -g"}, usageNoGen...), 2},
		{"extra argument", "ok", true, []string{"serve"},
			append([]string{`err: unexpected argument "serve"`}, usage...), 2},
		{"missing config", "", true, []string{"-f", missing},
			[]string{"err: testd: open " + missing + ": no such file or directory"}, 1},
		{"bad config", "bad-config", true, nil,
			[]string{"load bad-config umask=0077", "err: testd: bad config"}, 1},
		{"generate", "ok", true, []string{"-g"},
			[]string{"load ok umask=0077", "out: public key of ok"}, 0},
		{"generate only", "generate-only", true, nil,
			[]string{"load generate-only umask=0077", "out: public key of generate-only"}, 0},
		{"generate fails", "generate-fails", true, []string{"-g"},
			[]string{"load generate-fails umask=0077", "err: testd: generation failed"}, 1},
		{"serve fails", "serve-fails", true, nil,
			[]string{"load serve-fails umask=0077", "err: testd: cannot serve"}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, wait, lines := startMain(t, c.cfg, c.generate, c.args...)
			got := allLines(t, lines)
			if code := wait(); code != c.code {
				t.Errorf("exit status %d, want %d", code, c.code)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("output:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// TestMainServes: Serve gets SIGHUP on its channel and the first SIGTERM as the end of its
// context, after which Main exits 0. A daemon without -g ignores GenerateOnly.
func TestMainServes(t *testing.T) {
	for _, c := range []struct {
		cfg      string
		generate bool
	}{{"ok", true}, {"generate-only", false}} {
		t.Run(c.cfg, func(t *testing.T) {
			proc, wait, lines := startMain(t, c.cfg, c.generate)
			expectLine(t, lines, "load "+c.cfg+" umask=0077")
			expectLine(t, lines, "serving")
			if err := proc.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			expectLine(t, lines, "hup")
			if err := proc.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			expectLine(t, lines, "stopping")
			if rest := allLines(t, lines); len(rest) != 0 {
				t.Errorf("after stopping the child said %q", rest)
			}
			if code := wait(); code != 0 {
				t.Fatalf("exit status %d after a clean shutdown", code)
			}
		})
	}
}

// fakeRunner records the Run call ServeNew makes.
type fakeRunner struct {
	cfg string
	ctx context.Context
	hup <-chan struct{}
	err error
}

func (r *fakeRunner) Run(ctx context.Context, hup <-chan struct{}) error {
	r.ctx, r.hup = ctx, hup
	return r.err
}

// TestServeNew: the daemon is constructed from the configuration and run with Main's context
// and SIGHUP channel; a construction error is returned without a Run.
func TestServeNew(t *testing.T) {
	var built *fakeRunner
	newFake := func(cfg string) (*fakeRunner, error) {
		if cfg == "bad" {
			return nil, errors.New("cannot construct")
		}
		built = &fakeRunner{cfg: cfg, err: errors.New("run result " + cfg)}
		return built, nil
	}
	serve := ServeNew(newFake)
	ctx := t.Context()
	hup := make(chan struct{})
	if err := serve(ctx, hup, "bad"); err == nil || err.Error() != "cannot construct" || built != nil {
		t.Fatalf("construction failure: %v (built %v)", err, built)
	}
	err := serve(ctx, hup, "good")
	if built == nil || built.cfg != "good" || built.ctx != ctx || built.hup != (<-chan struct{})(hup) {
		t.Fatalf("Run not called with the config, context and channel: %+v", built)
	}
	if err == nil || err.Error() != "run result good" {
		t.Fatalf("Run's error not returned: %v", err)
	}
}
