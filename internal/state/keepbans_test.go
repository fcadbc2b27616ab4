package state

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/xdpban/xdpban/internal/jail"
)

// TestOpenKeepingBans checks that the bans Open kept stand for the store
// only until something is written: the first ActiveBans after a write,
// and every later one, read the file.
func TestOpenKeepingBans(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	a := jail.Ban{Prefix: pfx("198.18.0.1/32"), Start: t0, End: t0.Add(time.Hour), Origin: jail.OriginJail, Count: 2}
	b := jail.Ban{Prefix: pfx("2001:db8::/64"), Start: t0, Origin: jail.OriginManual, Count: 1}
	if err := s.SaveBans([]jail.Ban{a, b}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	prefixes := func(s *Store) []string {
		t.Helper()
		bans, err := s.ActiveBans()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, b := range bans {
			out = append(out, b.Prefix.String())
		}
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		name  string
		write func(*Store) error
		want  []string
	}{
		{"nothing written", func(*Store) error { return nil }, []string{"198.18.0.1/32", "2001:db8::/64"}},
		{"a ban deleted", func(s *Store) error { return s.DeleteBan(a.Prefix) }, []string{"2001:db8::/64"}},
		{"a ban saved", func(s *Store) error {
			return s.SaveBans([]jail.Ban{{Prefix: pfx("198.18.0.2/32"), Start: t0, Origin: jail.OriginJail, Count: 1}})
		}, []string{"198.18.0.1/32", "198.18.0.2/32", "2001:db8::/64"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := t.TempDir()
			copyStore(t, dir, d)
			s, w, err := OpenKeepingBans(d)
			if err != nil || w != nil {
				t.Fatalf("open: %v %v", w, err)
			}
			defer s.Close()
			kept := s.opened
			if len(kept) != 2 {
				t.Fatalf("open kept %d bans, want 2", len(kept))
			}
			if err := c.write(s); err != nil {
				t.Fatal(err)
			}
			if c.name == "nothing written" {
				// The bans Open decoded, not read again: the
				// transaction id after open is the one it noted.
				bans, err := s.ActiveBans()
				if err != nil || len(bans) != 2 || &bans[0] != &kept[0] {
					t.Fatalf("ActiveBans after open read the file again (%v)", err)
				}
			}
			if got := prefixes(s); !slices.Equal(got, c.want) {
				t.Fatalf("first ActiveBans = %v, want %v", got, c.want)
			}
			if err := s.DeleteBan(b.Prefix); err != nil {
				t.Fatal(err)
			}
			want := slices.DeleteFunc(slices.Clone(c.want), func(p string) bool { return p == b.Prefix.String() })
			if got := prefixes(s); !slices.Equal(got, want) {
				t.Fatalf("ActiveBans after a delete = %v, want %v", got, want)
			}
		})
	}
}

// copyStore copies the store file of dir into to.
func copyStore(t *testing.T, dir, to string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(to, FileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
}
