package forwardbench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTick is USER_HZ, the unit of /proc/stat: 100 on every Linux
// architecture Go supports.
const clockTick = 10 * time.Millisecond

// machineBusy is the CPU time all processes of the machine have used so
// far, from the first line of /proc/stat: everything but idle and iowait.
func machineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseProcStat(string(b))
}

// parseProcStat reads the busy time from the text of /proc/stat.
func parseProcStat(text string) (time.Duration, error) {
	line, _, _ := strings.Cut(text, "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: first line %.60q is not the cpu line", line)
	}
	var busy uint64
	for i, s := range f[1:] {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %q is not a tick count", s)
		}
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest and guest_nice are already in user and nice
			break
		}
		busy += n
	}
	return time.Duration(busy) * clockTick, nil
}

// syscallCounts are this process's read and write system calls so far
// (syscr and syscw of /proc/self/io: read(2), write(2) and their
// relatives, on sockets as on files).
func syscallCounts() (reads, writes uint64, err error) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, 0, err
	}
	return parseProcIO(string(b))
}

// parseProcIO reads syscr and syscw from the text of /proc/PID/io.
func parseProcIO(text string) (reads, writes uint64, err error) {
	var haveR, haveW bool
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, perr := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		switch k {
		case "syscr":
			reads, haveR, err = n, true, perr
		case "syscw":
			writes, haveW, err = n, true, perr
		}
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/self/io: %s: %w", k, err)
		}
	}
	if !haveR || !haveW {
		return 0, 0, fmt.Errorf("/proc/self/io without syscr and syscw")
	}
	return reads, writes, nil
}

// queueSampler samples the depth of mixd's crypto worker queue (STATS
// over the management socket) while a run goes on: it tells whether the
// workers ever ran out of packets.
type queueSampler struct {
	stop chan struct{}
	done sync.WaitGroup

	samples, belowWorkers int
	sum                   int64
}

// sampleQueue starts sampling the mix whose management socket is path,
// every interval, until stop; workers is the number of crypto workers.
func sampleQueue(path string, interval time.Duration, workers int) *queueSampler {
	q := &queueSampler{stop: make(chan struct{})}
	q.done.Add(1)
	go func() {
		defer q.done.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-q.stop:
				return
			case <-t.C:
			}
			st, err := readStats(path)
			if err != nil {
				continue
			}
			n, err := strconv.Atoi(st["queues"]["crypto_workers"])
			if err != nil {
				continue
			}
			q.samples++
			q.sum += int64(n)
			if n < workers {
				q.belowWorkers++
			}
		}
	}()
	return q
}

// finish stops sampling and returns the mean depth and the share of
// samples that found fewer packets queued than there are workers.
func (q *queueSampler) finish() (mean, starved float64) {
	close(q.stop)
	q.done.Wait()
	if q.samples == 0 {
		return 0, 0
	}
	return float64(q.sum) / float64(q.samples), float64(q.belowWorkers) / float64(q.samples)
}
