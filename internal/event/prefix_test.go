package event

import (
	"net/netip"
	"testing"
)

func TestSourcePrefix(t *testing.T) {
	for _, tt := range []struct {
		addr string
		bits int
		want string
	}{
		{"198.18.0.1", 64, "198.18.0.1/32"},
		{"::ffff:198.18.0.1", 64, "198.18.0.1/32"},
		{"2001:db8:1:2:3::4", 64, "2001:db8:1:2::/64"},
		{"2001:db8:1:2:3::4", 128, "2001:db8:1:2:3::4/128"},
		{"fe80::1%eth0", 128, "fe80::1/128"},
	} {
		if got := SourcePrefix(netip.MustParseAddr(tt.addr), tt.bits); got.String() != tt.want {
			t.Errorf("SourcePrefix(%s, %d) = %v, want %s", tt.addr, tt.bits, got, tt.want)
		}
	}
}

func TestNormPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"::ffff:198.18.0.1/128": "198.18.0.1/32",
		"::ffff:198.18.0.0/120": "198.18.0.0/24",
		"::ffff:198.18.0.7/96":  "0.0.0.0/0",
		"::ffff:0:0/80":         "::/80", // covers IPv6 too: not all of IPv4
		"198.18.0.7/24":         "198.18.0.0/24",
		"2001:db8::7/64":        "2001:db8::/64",
	} {
		if got := NormPrefix(netip.MustParsePrefix(in)); got.String() != want {
			t.Errorf("NormPrefix(%s) = %v, want %s", in, got, want)
		}
	}
}
