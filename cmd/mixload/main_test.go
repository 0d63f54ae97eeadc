package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/splitmix/splitmix/internal/loadgen"
	"github.com/splitmix/splitmix/internal/proctest"
	"github.com/splitmix/splitmix/internal/testnet"
)

// binDir holds the network's programs and mixload, built once by TestMain.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(proctest.MainWithBinaries(m, &binDir, func(ctx context.Context, dir string) error {
		if err := testnet.Build(ctx, dir); err != nil {
			return err
		}
		return proctest.Build(ctx, dir, "mixload")
	}))
}

// TestLoadThroughNetwork starts a small network (one mix per layer, three
// layers, two Providers), runs the mixload binary against it for a few
// seconds and checks the report; then runs it in process for the text
// report.
func TestLoadThroughNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network of processes")
	}
	dir := proctest.ShortTempDir(t)
	base, err := testnet.FreeBasePort(6)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	n, err := testnet.Start(ctx, testnet.Options{
		Dir: dir, BinDir: binDir, Layers: 3, MixesPerLayer: 1, Providers: 2, NoUsers: true,
		EpochPeriod: 20 * time.Second, BasePort: base, SphinxWorkers: 1,
		// Short delays keep the test quick but non-zero, so that the
		// chosen-delay figures have something to show.
		Mu: 0.05, MuMaxDelay: 100 * time.Millisecond,
		Progress: proctest.TestWriter{TB: t},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	man := n.Manifest()

	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "mixload"), "-net", dir, "-clients", "4",
		"-duration", "3s", "-warmup", "1s", "-drain", "20s", "-size", "100", "-json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mixload: %v\nstderr:\n%s", err, stderr.String())
	}
	t.Logf("mixload progress:\n%s", stderr.String())
	var rep loadgen.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout.String())
	}
	if rep.Sent == 0 || rep.Delivered == 0 {
		t.Fatalf("sent %d, delivered %d: no traffic\n%s", rep.Sent, rep.Delivered, stdout.String())
	}
	if rep.Delivered < rep.Acked {
		t.Fatalf("delivered %d < acked %d: an ACKed message was never retrieved", rep.Delivered, rep.Acked)
	}
	if rep.Delivered+rep.Missing != rep.Sent || rep.Duplicates != 0 || rep.Unknown != 0 {
		t.Fatalf("accounting: sent %d, delivered %d, missing %d, duplicates %d, unknown %d",
			rep.Sent, rep.Delivered, rep.Missing, rep.Duplicates, rep.Unknown)
	}
	for name, d := range map[string]loadgen.Dist{"latency": rep.Latency, "ack rtt": rep.AckRTT} {
		if d.N == 0 || d.Min <= 0 || d.P50 > d.P90 || d.P90 > d.P99 || d.P99 > d.Max {
			t.Fatalf("%s percentiles not ordered and non-zero: %+v", name, d)
		}
	}
	if rep.Layers != 3 || rep.Mu != 0.05 || rep.MaxDelayMS != 100 || rep.Delay.Max > 4*100*time.Millisecond {
		t.Fatalf("delay model: layers %d, mu %v, max %d, delay %+v", rep.Layers, rep.Mu, rep.MaxDelayMS, rep.Delay)
	}
	if len(rep.Nodes) != len(man.Nodes) {
		t.Fatalf("report has %d nodes, the network %d", len(rep.Nodes), len(man.Nodes))
	}
	var forwarded uint64
	for i, nd := range rep.Nodes {
		if nd.Node != man.Nodes[i].Name || nd.Layer != man.Nodes[i].Layer || nd.Provider != man.Nodes[i].Provider || nd.Error != "" {
			t.Fatalf("report node %d: %+v, want %s", i, nd, man.Nodes[i].Name)
		}
		forwarded += nd.Forwarded
	}
	if forwarded == 0 {
		t.Fatal("no node forwarded a packet during the run")
	}

	// The text report, in process, must name every node.
	var text, progress bytes.Buffer
	jsonFile := filepath.Join(dir, "report.json")
	code := run(ctx, []string{"-net", filepath.Join(dir, testnet.ManifestName), "-clients", "2", "-rate", "10",
		"-duration", "2s", "-warmup", "0s", "-drain", "20s", "-min-delivered", "0.5", "-json-file", jsonFile}, &text, &progress)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, text.String(), progress.String())
	}
	b, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	var rep2 loadgen.Report
	if err := json.Unmarshal(b, &rep2); err != nil || rep2.Clients != 2 || rep2.Rate != 10 || rep2.Sent == 0 {
		t.Fatalf("-json-file: %v, %+v", err, rep2)
	}
	for _, nd := range man.Nodes {
		if !strings.Contains(text.String(), "\n"+nd.Name+" ") {
			t.Fatalf("the text report does not name %s:\n%s", nd.Name, text.String())
		}
	}
	for _, want := range []string{"latency:", "p99", "delivered", "msg/s", "10 messages/s"} {
		if !strings.Contains(text.String(), want) {
			t.Fatalf("the text report lacks %q:\n%s", want, text.String())
		}
	}
	t.Logf("text report:\n%s", text.String())
}

// TestUnreachableNetwork: a manifest whose sockets answer nothing is exit
// status 1 with a message naming the node, and no report.
func TestUnreachableNetwork(t *testing.T) {
	dir := proctest.ShortTempDir(t)
	m := &testnet.Manifest{
		Dir:         dir,
		EpochPeriod: testnet.Duration(time.Minute),
		Authority:   testnet.Authority{Address: "127.0.0.1:1", PublicKey: strings.Repeat("ab", 32)},
		Nodes: []testnet.Node{
			{Name: "mix-1", Layer: 0, ManagementSocket: filepath.Join(dir, "nothing-here")},
			{Name: "provider-a", Provider: true, Layer: -1, ManagementSocket: filepath.Join(dir, "nor-here")},
		},
	}
	if err := m.Save(); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-net", dir, "-duration", "1s", "-q"}, &stdout, &stderr)
	if code != exitFailed || stdout.Len() != 0 || !strings.Contains(stderr.String(), "mix-1") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 1, nothing, a message naming mix-1", code, stdout.String(), stderr.String())
	}
}

func TestUsage(t *testing.T) {
	dir := proctest.ShortTempDir(t)
	for _, args := range [][]string{
		{"-clients", "x"},
		{"-net", dir, "extra"},
		{"-net", dir, "-min-delivered", "2"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%q: exit %d, want %d (stderr %q)", args, code, exitUsage, stderr.String())
		}
	}
	// No manifest in the directory: the network cannot be found.
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-net", dir}, &stdout, &stderr); code != exitFailed || !strings.Contains(stderr.String(), "manifest") {
		t.Fatalf("missing manifest: exit %d, stderr %q", code, stderr.String())
	}
}
