package f2blog

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 {
		return nil
	}
	if data[len(data)-1] != '\n' {
		t.Fatalf("%s does not end in a newline: %q", path, data)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// expectLines checks that path holds n lines, the first one from addr.
func expectLines(t *testing.T, path string, n int, addr string) {
	t.Helper()
	if got := readLines(t, path); len(got) != n || !strings.Contains(got[0], addr+":") {
		t.Errorf("%s: want %d lines, the first from %s: %q", path, n, addr, got)
	}
}

func openTestWriter(t *testing.T) (*Writer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fail2ban.log")
	w, err := OpenWriter(path, TimeEnd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, path
}

func TestWriterAppendsWholeLines(t *testing.T) {
	w, path := openTestWriter(t)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := failure("198.18.0.1", strings.Repeat("n", i))
			if _, err := w.Log(f); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	lines := readLines(t, path)
	if len(lines) != 50 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		if _, err := Parse(l); err != nil {
			t.Errorf("torn line %q: %v", l, err)
		}
	}
}

func TestWriterFollowsRenameOnWrite(t *testing.T) {
	w, path := openTestWriter(t)
	mustLog(t, w, "198.18.0.1")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	mustLog(t, w, "198.18.0.2")
	mustLog(t, w, "198.18.0.3")
	expectLines(t, path+".1", 1, "198.18.0.1") // the rotated file
	expectLines(t, path, 2, "198.18.0.2")      // the new file
}

func TestWriterRecreatesRemovedFile(t *testing.T) {
	w, path := openTestWriter(t)
	mustLog(t, w, "198.18.0.1")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	mustLog(t, w, "198.18.0.2")
	expectLines(t, path, 1, "198.18.0.2")
}

func TestWriterCopytruncateKeepsLinesWhole(t *testing.T) {
	w, path := openTestWriter(t)
	mustLog(t, w, "198.18.0.1")
	mustLog(t, w, "198.18.0.2")
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	mustLog(t, w, "198.18.0.3")
	data, _ := os.ReadFile(path)
	if strings.IndexByte(string(data), 0) >= 0 {
		t.Fatalf("append mode lost: file has a hole: %q", data)
	}
	expectLines(t, path, 1, "198.18.0.3")
}

func TestWriterReopen(t *testing.T) {
	w, path := openTestWriter(t)
	mustLog(t, w, "198.18.0.1")
	// A rename followed by SIGHUP (logrotate without copytruncate).
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := w.Reopen(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("reopen did not create the file: %v", err)
	}
	mustLog(t, w, "198.18.0.2")
	if got := readLines(t, path); len(got) != 1 {
		t.Errorf("got %q", got)
	}
	w.Close()
	if _, err := w.Log(failure("198.18.0.3", "")); err == nil {
		t.Error("log after close succeeded")
	}
}

func TestWriterReturnsLine(t *testing.T) {
	w, path := openTestWriter(t)
	line := mustLog(t, w, "198.18.0.1")
	if got := readLines(t, path); len(got) != 1 || got[0] != line {
		t.Errorf("returned %q, wrote %q", line, got)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v %v", st.Mode(), err)
	}
}

func mustLog(t *testing.T, w *Writer, addr string) string {
	t.Helper()
	line, err := w.Log(failure(addr, ""))
	if err != nil {
		t.Fatal(err)
	}
	return line
}
