package ipc_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/splitmix/splitmix/ipc"
	"github.com/splitmix/splitmix/ipc/ipctest"
)

// childSocketEnv makes the test binary act as a client process: it dials
// the socket, asks who it is, prints the pid the server saw and exits
// (status 3 when refused).
const childSocketEnv = "IPC_TEST_CHILD_SOCKET"

func childMain(path string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := ipc.Dial(ctx, ipc.ClientConfig{Protocol: proto, Path: path})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		if ipc.CodeOf(err) == ipc.CodeDenied {
			return 3
		}
		return 1
	}
	defer c.Close()
	var rep whoRep
	if err := c.Call(ctx, typeWhoAmI, nil, &rep); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(rep.PID)
	return 0
}

func runChild(t *testing.T, path string) (pid int, stdout string, exit int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childSocketEnv+"="+path)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid = cmd.Process.Pid
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return pid, out.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("child: %v (stderr %s)", err, errb.String())
	}
	return pid, strings.TrimSpace(out.String()), 0
}

// TestPeerCredAcrossProcesses: the pid a handler sees is the calling
// process's, as the kernel reports it.
func TestPeerCredAcrossProcesses(t *testing.T) {
	ts := newTestServer("")
	path, _, _ := serveRaw(t, ts.config(nil))
	pid, out, exit := runChild(t, path)
	if exit != 0 {
		t.Fatalf("child exited %d", exit)
	}
	seen := <-ts.seen
	if int(seen.Cred.PID) != pid || seen.Cred.PID == int32(os.Getpid()) {
		t.Fatalf("handler saw pid %d, child is %d (test is %d)", seen.Cred.PID, pid, os.Getpid())
	}
	if out != strconv.Itoa(pid) {
		t.Fatalf("child was told pid %q, is %d", out, pid)
	}
	if seen.Cred.UID != uint32(os.Geteuid()) {
		t.Fatalf("handler saw uid %d, want %d", seen.Cred.UID, os.Geteuid())
	}
}

// TestRefusedProcessWhileOthersWork: an authoriser admitting only this
// process refuses a child process, which gets CodeDenied; this process's
// client keeps working.
func TestRefusedProcessWhileOthersWork(t *testing.T) {
	self := int32(os.Getpid())
	cfg := newTestServer("").config(nil)
	cfg.Authorize = func(c ipc.Cred) (ipc.Role, error) {
		if c.PID != self {
			return "", fmt.Errorf("pid %d is not the test process", c.PID)
		}
		return roleUser, nil
	}
	path, _, srv := serveRaw(t, cfg)
	c := ipctest.Dial(t, ipc.ClientConfig{Protocol: proto, Path: path})
	if _, _, exit := runChild(t, path); exit != 3 {
		t.Fatalf("refused child exited %d, want 3 (CodeDenied)", exit)
	}
	if err := c.Call(ctxT(t), typeEcho, &echoReq{}, nil); err != nil {
		t.Fatalf("admitted client after refusing another process: %v", err)
	}
	if st := srv.Stats(); st.Refused != 1 {
		t.Fatalf("stats %+v: want 1 refused", st)
	}
}
