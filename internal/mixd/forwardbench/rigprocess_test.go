package forwardbench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/splitmix/splitmix/internal/proctest"
)

// rigProcess is the parent's handle on the helper process.
type rigProcess struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Reader
	logPath string
	done    chan struct{}
}

// startRig starts the helper process (this test binary again, with rigEnv
// set), hands it ln as file descriptor 3 and writes its configuration.
func startRig(cfg *rigConfig, ln net.Listener, logPath string) (*rigProcess, error) {
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), rigEnv+"=1")
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	rp := &rigProcess{cmd: cmd, in: in, out: bufio.NewReader(out), logPath: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(rp.done)
	}()
	line, err := json.Marshal(cfg)
	if err == nil {
		_, err = rp.in.Write(append(line, '\n'))
	}
	if err != nil {
		rp.close()
		return nil, err
	}
	return rp, nil
}

// do sends one command and reads its reply.
func (rp *rigProcess) do(command string) (rigReply, error) {
	var r rigReply
	if _, err := fmt.Fprintln(rp.in, command); err != nil {
		return r, fmt.Errorf("rig %q: %w\n%s", command, err, proctest.Tail(rp.logPath, 20))
	}
	line, err := rp.out.ReadBytes('\n')
	if err != nil {
		return r, fmt.Errorf("rig %q: %w\n%s", command, err, proctest.Tail(rp.logPath, 20))
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return r, fmt.Errorf("rig %q: reply %q: %w", command, line, err)
	}
	if r.Err != "" {
		return r, fmt.Errorf("rig %q: %s", command, r.Err)
	}
	return r, nil
}

// close ends the helper: its input closes, and it is killed if it has not
// exited 10 s later.
func (rp *rigProcess) close() {
	rp.in.Close()
	select {
	case <-rp.done:
	case <-time.After(10 * time.Second):
		_ = rp.cmd.Process.Kill()
		<-rp.done
	}
}
