package listener

import (
	"bufio"
	"net"
)

// sniffedConn hands crypto/tls the bytes sniff already read and watches
// the client's TLS records on the way.
type sniffedConn struct {
	net.Conn
	r       *bufio.Reader
	records recordWatcher
}

func (c *sniffedConn) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.records.feed(p[:n])
	return n, err
}

// recordWatcher follows the TLS record framing of the client's bytes to
// spot an unencrypted alert. A TLS 1.3 client that rejects our certificate
// (OpenSSL's s_client, for one) may send its alert in the clear after the
// keys changed; crypto/tls then reports only "bad record MAC", while the
// client in fact said, e.g., "unknown ca", which is the code OS4X logs.
// Encrypted records carry type 23, so a 2-byte record of type 21 is an
// alert in the clear.
type recordWatcher struct {
	hdr     [5]byte
	nhdr    int
	left    int // payload bytes of the current record still to come
	isAlert bool
	alert   [2]byte
	nalert  int
}

const recordTypeAlert = 21

func (w *recordWatcher) feed(b []byte) {
	for len(b) > 0 {
		if w.left == 0 {
			n := copy(w.hdr[w.nhdr:], b)
			w.nhdr += n
			b = b[n:]
			if w.nhdr < len(w.hdr) {
				return
			}
			w.nhdr = 0
			w.left = int(w.hdr[3])<<8 | int(w.hdr[4])
			w.isAlert = w.hdr[0] == recordTypeAlert && w.left == 2
			if w.isAlert {
				w.nalert = 0
			}
			continue
		}
		n := min(w.left, len(b))
		if w.isAlert {
			w.nalert += copy(w.alert[w.nalert:], b[:n])
		}
		w.left -= n
		b = b[n:]
	}
}

// plaintextAlert returns the description of the last complete clear-text
// alert the client sent; close_notify is left to crypto/tls (an EOF).
func (w *recordWatcher) plaintextAlert() (uint8, bool) {
	if w.nalert != len(w.alert) || w.alert[1] == 0 {
		return 0, false
	}
	return w.alert[1], true
}
