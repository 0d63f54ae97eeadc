package daemon

import (
	"net"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// notifySocket stands in for systemd's notification socket.
func notifySocket(t *testing.T) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(shortTempDir(t), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	msgs := make(chan string, 256)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				return
			}
			select {
			case msgs <- string(buf[:n]):
			default: // the test stopped reading
			}
		}
	}()
	return path, msgs
}

func nextMsg(t *testing.T, msgs <-chan string) string {
	t.Helper()
	select {
	case m := <-msgs:
		return m
	case <-time.After(waitLimit):
		t.Fatal("timed out waiting for a notification")
	}
	return ""
}

func TestNotifyAndWatchdog(t *testing.T) {
	path, msgs := notifySocket(t)
	cmd, _ := startChild(t, "notify", []string{"NOTIFY_SOCKET=" + path, "WATCHDOG_USEC=100000"})
	for _, want := range []string{"READY=1", "STATUS=serving"} {
		if got := nextMsg(t, msgs); got != want {
			t.Fatalf("notification %q, want %q", got, want)
		}
	}
	for i := 0; i < 3; i++ { // pings keep coming
		if got := nextMsg(t, msgs); got != "WATCHDOG=1" {
			t.Fatalf("notification %q, want WATCHDOG=1", got)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for {
		m := nextMsg(t, msgs)
		if m == "STOPPING=1" {
			break
		}
		if m != "WATCHDOG=1" {
			t.Fatalf("unexpected notification %q while waiting for STOPPING=1", m)
		}
	}
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("child exit code %d", code)
	}
}

func TestWatchdogInterval(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "/nonexistent/notify")
	t.Setenv("WATCHDOG_USEC", "4000000")
	t.Setenv("WATCHDOG_PID", "")
	if got := WatchdogInterval(); got != 2*time.Second {
		t.Errorf("interval %v, want half of WATCHDOG_USEC = 2s", got)
	}
	t.Setenv("WATCHDOG_PID", strconv.Itoa(syscall.Getpid()))
	if got := WatchdogInterval(); got != 2*time.Second {
		t.Errorf("with our own WATCHDOG_PID: interval %v, want 2s", got)
	}
	t.Setenv("WATCHDOG_PID", strconv.Itoa(syscall.Getpid()+1))
	if got := WatchdogInterval(); got != 0 {
		t.Errorf("WATCHDOG_PID of another process: interval %v, want 0 (off)", got)
	}
	t.Setenv("WATCHDOG_PID", "")
	t.Setenv("WATCHDOG_USEC", "soon")
	if got := WatchdogInterval(); got != 0 {
		t.Errorf("invalid WATCHDOG_USEC: interval %v, want 0", got)
	}
	t.Setenv("WATCHDOG_USEC", "4000000")
	t.Setenv("NOTIFY_SOCKET", "")
	if got := WatchdogInterval(); got != 0 {
		t.Errorf("without NOTIFY_SOCKET: interval %v, want 0", got)
	}
}

// Without NOTIFY_SOCKET the notify functions must do nothing, and not fail or block.
func TestNotifyWithoutSocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	NotifyReady()
	NotifyStatus("x")
	NotifyStopping()
	Watchdog(t.Context())
}
