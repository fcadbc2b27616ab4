package bench

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

// A segment carrying its checksum sums to all ones with its pseudo-header,
// which is how the receiver checks it.
func TestTCPChecksumVerifies(t *testing.T) {
	src, dst := netip.MustParseAddr("198.18.1.7"), netip.MustParseAddr("198.18.0.1")
	var pseudo [12]byte
	copy(pseudo[0:4], src.AsSlice())
	copy(pseudo[4:8], dst.AsSlice())
	pseudo[9] = 6
	binary.BigEndian.PutUint16(pseudo[10:], 20)
	seg := make([]byte, 20)
	binary.BigEndian.PutUint16(seg[0:], 12345)
	binary.BigEndian.PutUint16(seg[2:], labPort)
	binary.BigEndian.PutUint32(seg[4:], 0xdeadbeef)
	seg[12], seg[13] = 5<<4, 0x02
	binary.BigEndian.PutUint16(seg[14:], 64240)
	binary.BigEndian.PutUint16(seg[16:], tcpChecksum(pseudo[:], seg))
	if got := tcpChecksum(pseudo[:], seg); got != 0 {
		t.Fatalf("checksum over a checksummed segment = %#04x, want 0", got)
	}
}

func TestNearestRank(t *testing.T) {
	for _, tc := range []struct {
		n    int
		p    float64
		want int
	}{
		{200, 99, 198}, {200, 50, 100}, {30, 99, 30}, {1, 99, 1}, {100, 99, 99},
	} {
		if got := nearestRank(tc.n, tc.p); got != tc.want {
			t.Errorf("nearestRank(%d, %v) = %d, want %d", tc.n, tc.p, got, tc.want)
		}
	}
	xs := make([]float64, 200)
	for i := range xs {
		xs[i] = float64(200 - i) // 200 .. 1, unsorted for percentile
	}
	if got := percentile(xs, 99); got != 198 {
		t.Errorf("p99 of 1..200 = %v, want 198", got)
	}
	if xs[0] != 200 {
		t.Error("percentile reordered its input")
	}
}
