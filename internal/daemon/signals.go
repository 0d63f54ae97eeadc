package daemon

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// SignalContext maps the daemon signals onto a context and a channel:
//
//   - the first SIGTERM or SIGINT cancels ctx: the daemon shuts down gracefully;
//   - a second SIGTERM or SIGINT exits the process at once with status 1, for an operator whose
//     graceful shutdown hangs (there is no logger here, so nothing is logged);
//   - SIGHUP sends on hup (buffered 1; the send never blocks, so HUPs arriving while one is
//     pending are merged): the daemon reopens its log file.
//
// stop releases the signals (their default actions apply again) and cancels ctx. It is
// idempotent.
func SignalContext(parent context.Context) (ctx context.Context, hup <-chan struct{}, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	hupCh := make(chan struct{}, 1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		terms := 0
		for {
			select {
			case <-done:
				return
			case s := <-sigs:
				if s == syscall.SIGHUP {
					select {
					case hupCh <- struct{}{}:
					default:
					}
					continue
				}
				terms++
				if terms > 1 {
					os.Exit(1)
				}
				cancel()
			}
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(done)
			wg.Wait()
			cancel()
		})
	}
	return ctx, hupCh, stop
}
