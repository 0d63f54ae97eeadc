package logging

import (
	"fmt"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// DefaultLevel is the level used when Options.Level is empty.
const DefaultLevel = "NOTICE"

// levels lists the spec's level names from the most to the least severe, beside the hclog level
// each one is mapped to (one to one, in order).
var levels = []struct {
	name  string
	hclog hclog.Level
}{
	{"ERROR", hclog.Error},
	{"WARNING", hclog.Warn},
	{"NOTICE", hclog.Info},
	{"INFO", hclog.Debug},
	{"DEBUG", hclog.Trace},
}

// LevelNames returns the accepted level names, most severe first.
func LevelNames() []string {
	names := make([]string, len(levels))
	for i, l := range levels {
		names[i] = l.name
	}
	return names
}

// parseLevel maps a spec level name (any case; empty means DefaultLevel) to its hclog level.
func parseLevel(s string) (hclog.Level, error) {
	if s == "" {
		s = DefaultLevel
	}
	for _, l := range levels {
		if strings.EqualFold(s, l.name) {
			return l.hclog, nil
		}
	}
	return hclog.NoLevel, fmt.Errorf("logging: unknown level %q (accepted: %s)", s, strings.Join(LevelNames(), ", "))
}

// levelName is the spec's name of an hclog level, as printed in each line.
func levelName(h hclog.Level) string {
	for _, l := range levels {
		if l.hclog == h {
			return l.name
		}
	}
	return "?"
}
