package daemon

import (
	"context"
	"os"
	"time"

	sdnotify "github.com/coreos/go-systemd/v22/daemon"
)

// The sd_notify(3) protocol: datagrams to $NOTIFY_SOCKET, which systemd sets for Type=notify
// units. Without NOTIFY_SOCKET every function here does nothing, so daemons run the same from a
// shell. Errors are ignored on purpose: a daemon cannot do anything useful about a lost
// notification, and systemd reports a missing READY=1 or WATCHDOG=1 itself (start timeout,
// watchdog kill). NOTIFY_SOCKET stays in the environment so that later notifications work;
// a daemon that spawns programs (pluginhost) must not pass it on.

// NotifyReady tells systemd that start-up is complete (READY=1): the socket is served.
func NotifyReady() { notify(sdnotify.SdNotifyReady) }

// NotifyStopping tells systemd that shutdown has begun (STOPPING=1).
func NotifyStopping() { notify(sdnotify.SdNotifyStopping) }

// NotifyStatus sets the one-line status shown by `systemctl status` (STATUS=s). s must not
// identify packets or users.
func NotifyStatus(s string) { notify("STATUS=" + s) }

func notify(state string) {
	_, _ = sdnotify.SdNotify(false, state)
}

// WatchdogInterval returns the period at which Watchdog pings: half of $WATCHDOG_USEC, or 0 when
// the watchdog is off (no NOTIFY_SOCKET, no or invalid WATCHDOG_USEC, or WATCHDOG_PID naming
// another process).
func WatchdogInterval() time.Duration {
	if os.Getenv("NOTIFY_SOCKET") == "" {
		return 0
	}
	d, err := sdnotify.SdWatchdogEnabled(false)
	if err != nil || d <= 0 {
		return 0
	}
	return d / 2
}

// Watchdog starts a goroutine that sends WATCHDOG=1 every WatchdogInterval until ctx is done, and
// returns at once. It does nothing when the watchdog is off. Call it once, after NotifyReady, with
// a context that lives as long as the daemon serves: if the process hangs so badly that this
// goroutine stops running, systemd kills and restarts it after WatchdogSec.
func Watchdog(ctx context.Context) {
	interval := WatchdogInterval()
	if interval <= 0 {
		return
	}
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		notify(sdnotify.SdNotifyWatchdog)
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				notify(sdnotify.SdNotifyWatchdog)
			}
		}
	}()
}
