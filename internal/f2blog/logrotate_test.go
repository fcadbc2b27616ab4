package f2blog

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/testutil"
)

// TestLogrotateSnippetLosesNoLine rotates a log with the packaged
// logrotate snippet (deploy/package/logrotate) while a Writer appends to
// it as fast as it can. The snippet's postrotate command reaches the
// Writer as the daemon's SIGHUP does: a stand-in systemctl on PATH sends
// SIGHUP to this process, which calls Reopen. Afterwards every line
// written is in exactly one of the files, whole, and the new log has the
// old one's mode.
// The snippet runs as written except for the log directory.
func TestLogrotateSnippetLosesNoLine(t *testing.T) {
	logrotate, err := exec.LookPath("logrotate")
	if err != nil {
		t.Skip("logrotate not installed (Debian package logrotate; .ci/deps.sh installs it)")
	}
	dir := t.TempDir()
	logDir := filepath.Join(dir, "log")
	if err := os.Mkdir(logDir, 0o750); err != nil {
		t.Fatal(err)
	}
	snippet := readFile(t, "../../deploy/package/logrotate")
	const target = "/var/log/xdpban/*.log {"
	if !strings.Contains(snippet, target) {
		t.Fatalf("snippet does not rotate %q", target)
	}
	conf := filepath.Join(dir, "xdpban.logrotate")
	staged := strings.Replace(snippet, "/var/log/xdpban/", logDir+"/", 1)
	if err := os.WriteFile(conf, []byte(staged), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	calls := filepath.Join(dir, "systemctl.calls")
	os.Mkdir(bin, 0o755)
	fake := fmt.Sprintf("#!/bin/sh\necho \"$*\" >>%s\nkill -HUP %d\n", calls, os.Getpid())
	if err := os.WriteFile(filepath.Join(bin, "systemctl"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(logDir, "tls.log")
	w, err := OpenWriter(path, TimeEnd)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reopened := make(chan struct{}, 16)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-hup:
				if err := w.Reopen(); err != nil {
					t.Errorf("reopen: %v", err)
				}
				reopened <- struct{}{}
			}
		}
	}()
	// Addresses number the lines: 198.18.0.0/15 holds 131,072.
	const most = 1 << 17
	var written atomic.Int64
	go func() {
		defer wg.Done()
		for n := 0; n < most; n++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := w.Log(failure(seqAddr(n).String(), "")); err != nil {
				t.Errorf("write line %d: %v", n, err)
				return
			}
			written.Store(int64(n + 1))
		}
	}()

	const rotations = 4
	state := filepath.Join(dir, "logrotate.state")
	for i := range rotations {
		// notifempty: rotate only a log with lines in it.
		for deadline := time.Now().Add(testutil.HangGuard); !hasLines(path); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) || written.Load() == most {
				t.Fatalf("rotation %d: no line in the new log (%d written)", i+1, written.Load())
			}
		}
		cmd := exec.Command(logrotate, "--force", "--state", state, conf)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil || out.Len() > 0 {
			t.Errorf("rotation %d: %v\n%s", i+1, err, out.String())
		}
		testutil.WaitFor(t, reopened, "reopen after the postrotate reload")
	}
	close(stop)
	wg.Wait()
	n := int(written.Load())

	if got := strings.Count(readFile(t, calls), "try-reload-or-restart xdpban.service xdpban-logonly.service\n"); got != rotations {
		t.Errorf("postrotate reloaded %d times, want %d:\n%s", got, rotations, readFile(t, calls))
	}
	seen := make([]int, n)
	files, _ := os.ReadDir(logDir)
	for _, e := range files {
		for _, line := range logLines(t, filepath.Join(logDir, e.Name())) {
			f, err := Parse(line)
			if err != nil || !f.Addr.Is4() {
				t.Errorf("%s: torn line %q: %v", e.Name(), line, err)
				continue
			}
			a := f.Addr.As4()
			if seq := int(a[1]-18)<<16 | int(a[2])<<8 | int(a[3]); seq < n {
				seen[seq]++
			} else {
				t.Errorf("%s: line %d never written", e.Name(), seq)
			}
		}
	}
	lost, twice := 0, 0
	for _, c := range seen {
		lost += b2i(c == 0)
		twice += b2i(c > 1)
	}
	t.Logf("%d lines in %d files over %d rotations", n, len(files), rotations)
	if lost > 0 || twice > 0 || len(files) != rotations+1 {
		t.Errorf("%d lines lost, %d written twice, %d files (want %d)", lost, twice, len(files), rotations+1)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != logPerm&^currentUmask() {
		t.Errorf("new log: %v %v, want mode %v", st.Mode(), err, logPerm&^currentUmask())
	}
}

func seqAddr(n int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 18 + byte(n>>16), byte(n >> 8), byte(n)})
}

func hasLines(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Size() > 0
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func currentUmask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}

// logLines reads a log, gunzipping the compressed generations.
func logLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		z, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r = z
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(data) == 0 {
		return nil
	}
	if data[len(data)-1] != '\n' {
		t.Errorf("%s does not end in a newline", path)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}
