package ipc_test

import (
	"context"
	"testing"

	"github.com/splitmix/splitmix/ipc"
	"github.com/splitmix/splitmix/ipc/ipctest"
)

// BenchmarkCallRoundTrip: one small call over a real UNIX socket.
func BenchmarkCallRoundTrip(b *testing.B) {
	ts := newTestServer("")
	cfg := ts.config(nopLog{})
	c, _ := ipctest.PairWith(b, cfg, ipc.ClientConfig{Log: nopLog{}})
	ctx := context.Background()
	req := &echoReq{Text: "ping"}
	var rep echoRep
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Call(ctx, typeEcho, req, &rep); err != nil {
			b.Fatal(err)
		}
	}
}

type nopLog struct{}

func (nopLog) Warning(string, ...any) {}
func (nopLog) Info(string, ...any)    {}
func (nopLog) Debug(string, ...any)   {}
