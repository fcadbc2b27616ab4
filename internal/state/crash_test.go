package state

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
)

// crashEnv makes the test binary act as the writer killed by the test.
const crashEnv = "XDPBAN_STATE_CRASH_WRITER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashWriter(dir)
		return
	}
	os.Exit(m.Run())
}

// crashBan is the i-th ban the writer stores, so the test can check what
// it reads back.
func crashBan(i int) jail.Ban {
	a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
	return jail.Ban{Prefix: netip.PrefixFrom(a, 32), Start: t0, End: t0.Add(time.Duration(i+1) * time.Second),
		Origin: jail.OriginJail, Count: i%7 + 1}
}

// crashWriter writes bans forever, alternating single saves with history
// and batches, printing the range of bans committed after each commit
// returns. It never exits by itself: the test kills it.
func crashWriter(dir string) {
	s, _, err := Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// A later round continues where the bans of earlier ones end.
	bs, err := s.ActiveBans()
	if err != nil {
		os.Exit(2)
	}
	start := 0
	for _, b := range bs {
		a := b.Prefix.Addr().As4()
		start = max(start, int(a[1])<<16|int(a[2])<<8|int(a[3])+1)
	}
	for i := start; ; {
		from := i
		if i%3 == 0 {
			batch := make([]jail.Ban, 500)
			for k := range batch {
				batch[k] = crashBan(i + k)
			}
			if err := s.SaveBans(batch); err != nil {
				os.Exit(3)
			}
			i += len(batch)
		} else {
			if err := s.SaveBans([]jail.Ban{crashBan(i)}); err != nil {
				os.Exit(3)
			}
			if err := s.PutBan(crashBan(i)); err != nil {
				os.Exit(3)
			}
			i++
		}
		fmt.Printf("%d %d\n", from, i)
	}
}

func TestKilledWriterLeavesReadableStore(t *testing.T) {
	dir := t.TempDir()
	for round := range 3 {
		acked := runAndKill(t, dir, 20+round*37)
		s, w, err := Open(dir)
		if err != nil || w != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v, warning %v", round, err, w)
		}
		bans, err := s.ActiveBans()
		if err != nil {
			t.Fatal(err)
		}
		got := map[netip.Prefix]jail.Ban{}
		for _, b := range bans {
			got[b.Prefix] = b
		}
		// Every ban the writer saw committed is there, intact.
		for _, r := range acked {
			for i := r.from; i < r.to; i++ {
				want := crashBan(i)
				b, ok := got[want.Prefix]
				if !ok || !b.End.Equal(want.End) || b.Count != want.Count || b.Origin != want.Origin {
					t.Fatalf("round %d: ban %d acknowledged but read back as %+v, %v", round, i, b, ok)
				}
			}
		}
		if len(acked) == 0 || len(got) < acked[len(acked)-1].to-acked[0].from {
			t.Fatalf("round %d: %d bans read, acknowledged %v", round, len(got), acked)
		}
		s.Close()
	}
}

type span struct{ from, to int }

// runAndKill starts the writer on dir, lets it acknowledge commits
// commits, kills it with SIGKILL and returns the ranges it acknowledged.
func runAndKill(t *testing.T, dir string, commits int) []span {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var acked []span
	for len(acked) < commits && sc.Scan() {
		var r span
		if _, err := fmt.Sscan(sc.Text(), &r.from, &r.to); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, r)
	}
	// Kill mid-way: the writer is inside its next transaction by now.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if len(acked) == 0 {
		t.Fatal("writer acknowledged nothing")
	}
	return acked
}

func TestEmptyFileIsAFreshStore(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// bbolt initialises a zero-length file; nothing was lost, so no warning.
	s := openT(t, dir)
	defer s.Close()
	if err := s.SaveBans([]jail.Ban{crashBan(1)}); err != nil {
		t.Fatal(err)
	}
}

func TestGarbageFileIsMovedAside(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"garbage", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte(strings.Repeat("not a bbolt file ", 1000)), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"torn: truncated after the meta pages", func(t *testing.T, path string) {
			writeSomeBans(t, filepath.Dir(path))
			if err := os.Truncate(path, 3*4096); err != nil {
				t.Fatal(err)
			}
		}},
		{"torn: both meta pages overwritten", func(t *testing.T, path string) {
			writeSomeBans(t, filepath.Dir(path))
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt([]byte(strings.Repeat("\xff", 2*4096)), 0); err != nil {
				t.Fatal(err)
			}
		}},
		{"torn: data pages overwritten", func(t *testing.T, path string) {
			writeSomeBans(t, filepath.Dir(path))
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			junk := []byte(strings.Repeat("\x5a", int(fi.Size())-4*4096))
			if _, err := f.WriteAt(junk, 4*4096); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			tt.damage(t, path)
			s, w, err := Open(dir)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer s.Close()
			if w == nil {
				t.Fatal("no warning for a damaged file")
			}
			if _, err := os.Stat(w.MovedTo); err != nil || !strings.HasPrefix(filepath.Base(w.MovedTo), FileName+".corrupt-") {
				t.Fatalf("moved to %q: %v", w.MovedTo, err)
			}
			if w.String() == "" || w.Cause == nil {
				t.Fatalf("warning lacks detail: %+v", w)
			}
			bans, err := s.ActiveBans()
			if err != nil || len(bans) != 0 {
				t.Fatalf("fresh store holds %v, %v", bans, err)
			}
			if err := s.SaveBans([]jail.Ban{crashBan(1)}); err != nil {
				t.Fatalf("fresh store not writable: %v", err)
			}
		})
	}
}

// writeSomeBans fills a store in dir with enough bans to span many pages.
func writeSomeBans(t *testing.T, dir string) {
	t.Helper()
	s := openT(t, dir)
	bans := make([]jail.Ban, 5000)
	for i := range bans {
		bans[i] = crashBan(i)
	}
	if err := s.SaveBans(bans); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
