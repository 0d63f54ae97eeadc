package logging

import (
	"bytes"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// FuzzLevelWrite feeds arbitrary "formatted lines" to the output stage: whatever hclog hands over,
// each write becomes exactly one timestamped, tagged write and never panics.
func FuzzLevelWrite(f *testing.F) {
	f.Add(uint8(hclog.Info), []byte("[INFO]  keyd: msg: k=v\n"))
	f.Add(uint8(hclog.Trace), []byte("[TRACE]"))
	f.Add(uint8(0), []byte("[\n"))
	f.Add(uint8(hclog.Error), []byte(""))
	f.Fuzz(func(t *testing.T, level uint8, p []byte) {
		var buf bytes.Buffer
		o := &output{w: &buf, now: time.Now}
		n, err := o.LevelWrite(hclog.Level(level), p)
		if err != nil || n != len(p) {
			t.Fatalf("LevelWrite = %d, %v; want %d, nil", n, err, len(p))
		}
		out := buf.Bytes()
		if len(out) < len(timeFormat)+3 || out[len(timeFormat)] != ' ' || out[len(timeFormat)+1] != '[' {
			t.Fatalf("line %q lacks the timestamp and tag", out)
		}
	})
}
