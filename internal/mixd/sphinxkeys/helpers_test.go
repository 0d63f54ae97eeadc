package sphinxkeys

import (
	"strconv"

	"github.com/splitmix/splitmix/internal/replay"
)

func itoa(e uint64) string { return strconv.FormatUint(e, 10) }

// replayOptions turns the periodic msync off: tests close the filters.
func replayOptions() replay.Options { return replay.Options{SyncInterval: -1} }
