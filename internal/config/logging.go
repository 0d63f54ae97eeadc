package config

import (
	"strings"
)

// Log levels, most to least severe. Logging.Level is always one of these
// after Load.
const (
	LevelError   = "ERROR"
	LevelWarning = "WARNING"
	LevelNotice  = "NOTICE"
	LevelInfo    = "INFO"
	LevelDebug   = "DEBUG"
)

// DefaultLevel is Logging.Level when the file does not set it.
const DefaultLevel = LevelNotice

var levels = []string{LevelError, LevelWarning, LevelNotice, LevelInfo, LevelDebug}

// Logging is the [Logging] section. See docs/spec/mix-server.md, "Logging
// section".
type Logging struct {
	// Disable turns logging off.
	Disable bool
	// File is the log file (absolute after Load; a relative path is taken
	// relative to Server.DataDir). Empty means standard error: the spec
	// says standard output, but we keep stdout clean for the output of -g.
	File string
	// Level is ERROR, WARNING, NOTICE, INFO or DEBUG (upper case after
	// Load; the file may use any case).
	Level string
}

type fileLogging struct {
	Disable bool
	File    string
	Level   string
	// Debug is accepted as an alias of Level: the spec's text says
	// "`Debug` may be set to one of the following" where it means Level.
	Debug *string
}

func convertLogging(ck *checker, l *fileLogging, dataDir string) Logging {
	out := Logging{Disable: l.Disable, File: resolvePath(dataDir, l.File), Level: l.Level}
	if l.Debug != nil {
		if l.Level != "" && !strings.EqualFold(l.Level, *l.Debug) {
			ck.errorf("Logging.Debug", "conflicts with Logging.Level (%q vs %q); set only Level", *l.Debug, l.Level)
		} else {
			ck.warnf("Logging.Debug", "taken as Logging.Level (the spec's text names the level key Debug; the key is Level)")
			out.Level = *l.Debug
		}
	}
	key := "Logging.Level"
	if l.Level == "" && l.Debug != nil {
		key = "Logging.Debug"
	}
	if out.Level == "" {
		out.Level = DefaultLevel
	}
	norm := strings.ToUpper(strings.TrimSpace(out.Level))
	found := false
	for _, lv := range levels {
		if norm == lv {
			found = true
		}
	}
	if !found {
		ck.errorf(key, "unknown log level %q (want one of %s)", out.Level, strings.Join(levels, ", "))
		return out
	}
	out.Level = norm
	if norm == LevelDebug && !out.Disable {
		ck.warnf(key, "DEBUG logging is unsafe for production use: it records data that can identify packets, users and routes")
	}
	return out
}
