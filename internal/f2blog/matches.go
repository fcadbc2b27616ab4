package f2blog

import (
	"bytes"
	"io"
	"net/netip"
	"os"
)

// matchTail bounds how much of each log the ban notification reads.
const matchTail = 256 << 10

// MatchingLines returns the last max lines of the logs' tails that name
// addr as the failing peer, oldest first: fail2ban's <matches> for
// action_mwl, which greps the log the same way. The needles are this
// package's own wording, so a line with the address only in an escaped
// partner name does not match.
func MatchingLines(paths []string, addr netip.Addr, max int) []string {
	needles := [][]byte{
		[]byte(middle + addr.String() + ": "),
		[]byte(middle + addr.String() + " ("),
	}
	var out []string
	for _, path := range paths {
		for _, line := range bytes.Split(tail(path, matchTail), []byte("\n")) {
			for _, n := range needles {
				if bytes.Contains(line, n) {
					out = append(out, string(line))
					break
				}
			}
		}
	}
	if len(out) > max {
		out = out[len(out)-max:]
	}
	return out
}

// tail reads the last n bytes of a file, starting at a line boundary.
func tail(path string, n int64) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil
	}
	off := max(st.Size()-n, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, st.Size()-off))
	if err != nil {
		return nil
	}
	if off > 0 {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return b
}
