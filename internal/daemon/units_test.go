package daemon

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The production units in systemd/ are checked with the tools that will load them:
// systemd-analyze verify must have nothing to say (it exits 0 even for unknown keys and bad
// values, so any stderr output fails the test), and each service's exposure score must stay at
// the level systemd/README.md promises (the gate of the hardening notes: --threshold is on a
// 0-100 scale, so 2 means 0.2 and 11 means 1.1).

// unitsDir is systemd/ at the repository root, seen from this package's directory.
const unitsDir = "../../systemd"

var securityThreshold = map[string]string{
	"keyd.service":       "2",
	"spoold.service":     "2",
	"pluginhost.service": "2",
	"mixd.service":       "11", // needs AF_INET/AF_INET6 and so cannot have PrivateNetwork
}

func systemdAnalyze(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the unit files are not checked")
	}
	return path
}

// stageUnits copies the units into a temporary directory with ExecStart pointing at stand-in
// executables there (verify insists that the binary exists), and returns the unit paths.
func stageUnits(t *testing.T) (dir string, units []string) {
	t.Helper()
	dir = t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(unitsDir)
	if err != nil {
		t.Fatal(err)
	}
	execStart := regexp.MustCompile(`(?m)^ExecStart=/usr/local/bin/([a-z]+)`)
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".service") && !strings.HasSuffix(name, ".socket") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(unitsDir, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range execStart.FindAllSubmatch(data, -1) {
			stand := filepath.Join(bin, string(m[1]))
			if err := os.WriteFile(stand, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		data = execStart.ReplaceAll(data, []byte("ExecStart="+bin+"/$1"))
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		units = append(units, p)
	}
	for name := range securityThreshold {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatalf("unit %s missing from %s", name, unitsDir)
		}
	}
	return dir, units
}

func TestUnitsVerify(t *testing.T) {
	analyze := systemdAnalyze(t)
	_, units := stageUnits(t)
	cmd := exec.Command(analyze, append([]string{"verify", "--man=no"}, units...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("systemd-analyze verify: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
}

func TestUnitsSecurityScore(t *testing.T) {
	analyze := systemdAnalyze(t)
	dir, _ := stageUnits(t)
	for name, threshold := range securityThreshold {
		out, err := exec.Command(analyze, "security", "--offline=true", "--threshold="+threshold,
			filepath.Join(dir, name)).CombinedOutput()
		if err != nil {
			t.Errorf("%s: exposure above %s/100 (%v):\n%s", name, threshold, err, lastLines(out, 40))
		}
	}
	// The gate is live: mixd, which must reach the network, cannot pass the strict threshold.
	if err := exec.Command(analyze, "security", "--offline=true", "--threshold=2",
		filepath.Join(dir, "mixd.service")).Run(); err == nil {
		t.Error("mixd.service passed --threshold=2: the security gate does not discriminate")
	}
}

// TestUnitsContract checks what the daemons rely on and the scores do not show.
func TestUnitsContract(t *testing.T) {
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(unitsDir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	users := map[string]string{"keyd": "splitmix-keyd", "mixd": "splitmix-mixd", "spoold": "splitmix-spoold", "pluginhost": "splitmix-plugins"}
	for d, user := range users {
		unit := read(d + ".service")
		for _, want := range []string{
			"Type=notify\n", "WatchdogSec=", "User=" + user + "\n", "LimitCORE=0\n", "UMask=0077\n",
			"ExecStart=/usr/local/bin/" + d + " -f /etc/splitmix/splitmix.toml\n",
			"CapabilityBoundingSet=\n", "NoNewPrivileges=yes\n",
		} {
			if !strings.Contains(unit, want) {
				t.Errorf("%s.service lacks %q", d, strings.TrimSpace(want))
			}
		}
	}
	for _, d := range []string{"keyd", "mixd"} {
		if !strings.Contains(read(d+".service"), "LimitMEMLOCK=") {
			t.Errorf("%s.service: no LimitMEMLOCK for its locked key memory", d)
		}
	}
	if !strings.Contains(read("mixd.service"), "Environment=GODEBUG=multipathtcp=0\n") {
		t.Error("mixd.service does not disable MPTCP listeners")
	}
	// The IPC sockets are where config.Privsep puts them with RuntimeDir=/run/splitmix, and only
	// mixd's group may connect.
	for _, d := range []string{"keyd", "spoold", "pluginhost"} {
		sock := read(d + ".socket")
		for _, want := range []string{"ListenStream=/run/splitmix/" + d + ".sock\n", "SocketGroup=splitmix-ipc\n", "SocketMode=0660\n"} {
			if !strings.Contains(sock, want) {
				t.Errorf("%s.socket lacks %q", d, strings.TrimSpace(want))
			}
		}
	}
}

// TestSysusersAndTmpfiles applies the sysusers.d and tmpfiles.d files to a scratch root.
func TestSysusersAndTmpfiles(t *testing.T) {
	sysusers, err1 := exec.LookPath("systemd-sysusers")
	tmpfiles, err2 := exec.LookPath("systemd-tmpfiles")
	if err1 != nil || err2 != nil {
		t.Skip("systemd-sysusers or systemd-tmpfiles is not installed")
	}
	if os.Geteuid() != 0 {
		t.Skip("applying sysusers.d to a scratch root needs root")
	}
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf, err := filepath.Abs(filepath.Join(unitsDir, "splitmix.sysusers.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sysusers, "--root="+root, conf).CombinedOutput(); err != nil || bytes.Contains(out, []byte("gnoring")) {
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
	group, err := os.ReadFile(filepath.Join(root, "etc", "group"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^splitmix-ipc:x:\d+:splitmix-mixd$`).Match(group) {
		t.Errorf("splitmix-ipc must hold mixd alone:\n%s", group)
	}
	tconf, err := filepath.Abs(filepath.Join(unitsDir, "splitmix.tmpfiles.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tmpfiles, "--root="+root, "--create", tconf).CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("systemd-tmpfiles: %v\n%s", err, out)
	}
	st, err := os.Stat(filepath.Join(root, "run", "splitmix"))
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("/run/splitmix: %v, %v", st, err)
	}
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
