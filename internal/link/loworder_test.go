package link

import (
	"bytes"
	"context"
	"crypto/mlkem"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/splitmix/splitmix/internal/keys"
	"github.com/splitmix/splitmix/internal/keys/memkey"
)

// TestResponderRejectsLowOrderInitiatorStatic: an initiator whose static
// X25519 half is a point of small order makes the responder's se exchange
// all-zero; the responder must refuse before sending message 2.
func TestResponderRejectsLowOrderInitiatorStatic(t *testing.T) {
	rk := fuzzResponderKey(t)
	ik, err := memkey.GenerateLinkKey()
	if err != nil {
		t.Fatal(err)
	}
	kem, err := mlkem.GenerateKey768()
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{
		Static:    rk,
		Authorize: func(context.Context, *keys.LinkPublicKey, []byte) error { return nil },
		Limits:    fuzzLimits,
	}
	for _, point := range []string{
		"0000000000000000000000000000000000000000000000000000000000000000",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
	} {
		static := *ik.Public()
		static.X25519 = *hex32(t, point)
		msg := forgedMessage1(t, rk, kem.EncapsulationKey().Bytes(), static.Bytes())
		out := new(bytes.Buffer)
		conn := &recordConn{scriptConn: scriptConn{r: bytes.NewReader(msg)}, out: out}
		_, err := Accept(context.Background(), conn, cfg)
		if !errors.Is(err, ErrHandshake) || !errors.Is(err, errLowOrderPoint) {
			t.Fatalf("static X25519 %s: %v, want ErrHandshake and errLowOrderPoint", point[:8], err)
		}
		if out.Len() != 0 {
			t.Fatalf("static X25519 %s: responder wrote %d bytes", point[:8], out.Len())
		}
	}
}

// recordConn is a scriptConn that keeps what is written to it.
type recordConn struct {
	scriptConn
	out *bytes.Buffer
}

func (c *recordConn) Write(b []byte) (int, error) { return c.out.Write(b) }

// TestInitiatorRejectsLowOrderResponderEphemeral: a message 2 whose e is a
// point of small order makes the initiator's ee all-zero; it must fail
// there, before it uses its static key.
func TestInitiatorRejectsLowOrderResponderEphemeral(t *testing.T) {
	for _, point := range []string{
		"0000000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	} {
		e := newEndpoints(t)
		re := hex32(t, point)
		ic, rc := net.Pipe()
		go func() {
			defer rc.Close()
			if _, err := io.ReadFull(rc, make([]byte, msg1Length)); err != nil {
				return
			}
			msg2 := make([]byte, msg2Length)
			copy(msg2, re[:])
			rc.Write(msg2)
		}()
		_, err := Initiate(context.Background(), ic, e.icfg)
		if !errors.Is(err, ErrHandshake) || !errors.Is(err, errLowOrderPoint) {
			t.Fatalf("responder e %s: %v, want ErrHandshake and errLowOrderPoint", point[:8], err)
		}
		if ecdhCalls, decapsCalls, _ := e.ikey.counts(); ecdhCalls != 0 || decapsCalls != 0 {
			t.Fatalf("responder e %s: initiator used its static key (%d ECDH, %d decapsulations)", point[:8], ecdhCalls, decapsCalls)
		}
	}
}
