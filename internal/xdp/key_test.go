package xdp

import (
	"math"
	"net/netip"
	"testing"
	"time"
)

func TestKeyEncoding(t *testing.T) {
	tests := []struct {
		in       string
		v6prefix int
		want     string // the 16 bytes as an IPv6 address
		back     string // prefixOf(key)
		wantErr  bool
	}{
		{in: "10.10.14.7", v6prefix: 128, want: "::ffff:10.10.14.7", back: "10.10.14.7/32"},
		{in: "::ffff:10.10.14.7", v6prefix: 128, want: "::ffff:10.10.14.7", back: "10.10.14.7/32"},
		{in: "2001:db8::7", v6prefix: 128, want: "2001:db8::7", back: "2001:db8::7/128"},
		{in: "2001:db8:0:1:2:3:4:5", v6prefix: 64, want: "2001:db8:0:1::", back: "2001:db8:0:1::/64"},
		{in: "2001:db8:0:1::/64", v6prefix: 64, want: "2001:db8:0:1::", back: "2001:db8:0:1::/64"},
		{in: "2001:db8:0:1::/64", v6prefix: 128, wantErr: true},
		{in: "10.10.14.0/24", v6prefix: 128, wantErr: true},
	}
	for _, tt := range tests {
		p, err := ParseTarget(tt.in)
		if err != nil {
			t.Fatalf("parse %q: %v", tt.in, err)
		}
		k, err := keyFor(p, tt.v6prefix)
		if tt.wantErr {
			if err == nil {
				t.Errorf("keyFor(%s, /%d): no error", p, tt.v6prefix)
			}
			continue
		}
		if err != nil {
			t.Fatalf("keyFor(%s): %v", p, err)
		}
		if got := netip.AddrFrom16(k.Addr); got != netip.MustParseAddr(tt.want) {
			t.Errorf("keyFor(%s) = %s, want %s", p, got, tt.want)
		}
		if got := prefixOf(k, tt.v6prefix); got.String() != tt.back {
			t.Errorf("prefixOf(keyFor(%s)) = %s, want %s", p, got, tt.back)
		}
	}
}

func TestParseTargetRejects(t *testing.T) {
	for _, s := range []string{"", "10.0.0", "host.example", "10.0.0.1/33", "fe80::1%eth0", "1.2.3.4 ", "::1/129"} {
		if _, err := ParseTarget(s); err == nil {
			t.Errorf("ParseTarget(%q): no error", s)
		}
	}
}

func TestIPv6Mask(t *testing.T) {
	for _, bits := range []int{1, 48, 64, 127, 128} {
		m := ipv6Mask(bits)
		// Apply the mask the way the program does and compare with netip.
		a := netip.MustParseAddr("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")
		b := a.As16()
		var got [16]byte
		for i := 0; i < 16; i++ {
			word := m[i/4]
			var wb [4]byte
			// NativeEndian back to bytes, as a u32 load from memory would.
			wb[0], wb[1], wb[2], wb[3] = byte(word), byte(word>>8), byte(word>>16), byte(word>>24)
			got[i] = b[i] & wb[i%4]
		}
		want := netip.PrefixFrom(a, bits).Masked().Addr().As16()
		if got != want {
			t.Errorf("mask /%d: %x, want %x", bits, got, want)
		}
	}
}

func TestParsePorts(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{in: "6619", want: "6619"},
		{in: "443, 6619,443", want: "443,6619"},
		{in: "6000-6003,6619", want: "6000-6003,6619"},
		{in: "ALL", want: "all"},
		{in: "0", err: true},
		{in: "65536", err: true},
		{in: "10-5", err: true},
		{in: "", err: true},
		{in: "ssh", err: true},
	}
	for _, tt := range tests {
		p, err := ParsePorts(tt.in)
		if tt.err {
			if err == nil {
				t.Errorf("ParsePorts(%q): no error", tt.in)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ParsePorts(%q): %v", tt.in, err)
		}
		if p.String() != tt.want {
			t.Errorf("ParsePorts(%q) = %s, want %s", tt.in, p, tt.want)
		}
		if back := portsFromBitmap(p.All, p.bitmap()); back.String() != tt.want {
			t.Errorf("bitmap round trip of %q = %s", tt.in, back)
		}
	}
}

func TestClockConversion(t *testing.T) {
	c := clockPair{wall: time.Unix(1_800_000_000, 0), mono: 100 * time.Second}
	if got := c.toMono(time.Time{}); got != 0 {
		t.Errorf("permanent: %d, want 0", got)
	}
	in := c.wall.Add(90 * time.Second)
	if got := c.toMono(in); got != uint64(190*time.Second) {
		t.Errorf("toMono(+90s) = %d", got)
	}
	if got := c.toWall(uint64(190 * time.Second)); !got.Equal(in) {
		t.Errorf("toWall = %v, want %v", got, in)
	}
	if got := c.toMono(c.wall.Add(-time.Hour)); got != 1 {
		t.Errorf("deadline before the clock started: %d, want 1 (expired)", got)
	}
	if b := monoNow(); b <= 0 {
		t.Errorf("monoNow = %v", b)
	}
	// A deadline past what nanoseconds count (2562047h47m from now) must
	// not wrap into the past and write a ban already over.
	for _, far := range []time.Time{c.wall.Add(math.MaxInt64), c.wall.Add(math.MaxInt64).Add(math.MaxInt64)} {
		if got := c.toMono(far); got != math.MaxInt64 {
			t.Errorf("toMono(%v) = %d, want it saturated at %d", far, got, int64(math.MaxInt64))
		}
	}
}
