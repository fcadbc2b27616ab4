package listener

import (
	"bufio"
	"io"
	"net"
	"slices"
)

// sniffedConn hands crypto/tls the bytes sniff already read and watches
// the client's TLS records on the way.
type sniffedConn struct {
	net.Conn
	r       io.Reader
	records recordWatcher
	// sniDotStripped: the ClientHello's server name lost its trailing
	// dot on the way (newSniffedConn).
	sniDotStripped bool
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

// OpenSSL 3.0's record layer limits, as sniff applies them to the first
// records. A record longer than maxRecordLen does not fit OpenSSL's read
// buffer and is refused from its header; longer than maxEncryptedLen or
// maxPlainLen, once it has arrived. OpenSSL skips up to maxEmptyRecords
// empty records in a row.
const (
	recordHeaderLen      = 5
	recordTypeHandshake  = 0x16
	handshakeClientHello = 1
	maxPlainLen          = 1 << 14
	maxEncryptedLen      = maxPlainLen + 320
	maxRecordLen         = maxEncryptedLen + 3
	maxEmptyRecords      = 32
)

// isSSLv2Hello is OpenSSL's test for an SSLv2-format ClientHello: the
// length's high bit set and message type 1 in the third byte.
func isSSLv2Hello(hdr []byte) bool { return hdr[0]&0x80 != 0 && hdr[2] == 1 }

// sniffSSLv2 judges an SSLv2-format ClientHello once it has arrived, as
// OpenSSL does: SSLv2 itself is an unknown protocol, TLS 1.0 and 1.1
// unsupported, and TLS 1.2 fails on its cipher list unless it names one
// of ours (then OpenSSL would go on, which crypto/tls cannot: unsupported).
func sniffSSLv2(br *bufio.Reader, hdr []byte) (uint32, bool) {
	n := int(hdr[0]&0x7f)<<8 | int(hdr[1])
	if n > maxRecordLen+recordHeaderLen-2 {
		return CodePacketTooLong, false
	}
	version := uint16(hdr[3])<<8 | uint16(hdr[4])
	rec, err := br.Peek(min(2+n, br.Size()))
	if err != nil {
		return classifyIOError(err), false
	}
	switch {
	case version < 0x0300:
		return CodeUnknownProtocol, false
	case version < 0x0303:
		return CodeUnsupportedVersion, false
	case !sslv2OffersOurSuite(rec):
		return CodeNoSharedCipher, false
	}
	return CodeUnsupportedVersion, false
}

// sslv2OffersOurSuite reports whether the cipher specs of an SSLv2-format
// ClientHello (three bytes each; TLS suites start with a zero) hold one of
// the suites we accept.
func sslv2OffersOurSuite(rec []byte) bool {
	if len(rec) < 11 {
		return false
	}
	specs := rec[11:]
	specs = specs[:min(len(specs), int(rec[5])<<8|int(rec[6]))]
	for ; len(specs) >= 3; specs = specs[3:] {
		if specs[0] == 0 && slices.Contains(aeadSuites, uint16(specs[1])<<8|uint16(specs[2])) {
			return true
		}
	}
	return false
}
