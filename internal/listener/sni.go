package listener

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"

	"golang.org/x/crypto/cryptobyte"
)

// OpenSSL accepts a server name with a trailing dot ("localhost."), which
// some clients send for a fully qualified name; crypto/tls refuses the
// whole ClientHello (RFC 6066 forbids the dot). To fail such a client
// where OpenSSL would (no certificate, a foreign one, a closed
// connection), the hello crypto/tls sees has the dot removed. The client's
// transcript then differs from ours, so the session cannot succeed: TLS
// 1.3 would fail at once on keys derived from it, which is why such a
// handshake is held to TLS 1.2, where the transcript is checked only at
// the client's CertificateVerify, after its certificate was judged.

// newSniffedConn wraps c for crypto/tls once sniff let it through,
// removing a trailing dot from the server name of a ClientHello that
// arrived in one record.
func newSniffedConn(c net.Conn, br *bufio.Reader) *sniffedConn {
	sc := &sniffedConn{Conn: c, r: br}
	hdr, err := br.Peek(recordHeaderLen)
	if err != nil || hdr[0] != recordTypeHandshake {
		return sc
	}
	n := recordHeaderLen + (int(hdr[3])<<8 | int(hdr[4]))
	if n > br.Size() {
		return sc
	}
	rec, err := br.Peek(n)
	if err != nil {
		// Peek hands the error over once; crypto/tls must see it too,
		// after the bytes that did arrive (a reset stays a reset).
		got := bytes.Clone(rec)
		br.Discard(len(got))
		sc.r = io.MultiReader(bytes.NewReader(got), errReader{err})
		return sc
	}
	if out := stripSNIDot(rec); out != nil {
		br.Discard(n)
		sc.r = io.MultiReader(bytes.NewReader(out), br)
		sc.sniDotStripped = true
	}
	return sc
}

// errReader returns err on every read.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// configFor returns the configuration for one handshake: base, held to
// TLS 1.2 when the ClientHello's server name lost its trailing dot.
func configFor(base *tls.Config, hi *tls.ClientHelloInfo) *tls.Config {
	if sc, ok := hi.Conn.(*sniffedConn); ok && sc.sniDotStripped {
		c := base.Clone()
		c.MaxVersion = tls.VersionTLS12
		return c
	}
	return base
}

// stripSNIDot returns rec, a record holding one whole ClientHello, with
// the trailing dots of its host name removed, or nil when there are none
// or rec is not such a record.
func stripSNIDot(rec []byte) []byte {
	s := cryptobyte.String(rec)
	var recVersion uint16
	var body, msg, prefixEnd cryptobyte.String
	var typ, msgType uint8
	if !s.ReadUint8(&typ) || typ != recordTypeHandshake || !s.ReadUint16(&recVersion) || !s.ReadUint16LengthPrefixed(&body) || !s.Empty() ||
		!body.ReadUint8(&msgType) || msgType != handshakeClientHello || !body.ReadUint24LengthPrefixed(&msg) || !body.Empty() {
		return nil
	}
	// version, random, session id, cipher suites, compression methods
	prefixEnd = msg
	var skip cryptobyte.String
	if !prefixEnd.Skip(2+32) || !prefixEnd.ReadUint8LengthPrefixed(&skip) ||
		!prefixEnd.ReadUint16LengthPrefixed(&skip) || !prefixEnd.ReadUint8LengthPrefixed(&skip) {
		return nil
	}
	prefix := msg[:len(msg)-len(prefixEnd)]
	var exts cryptobyte.String
	if !prefixEnd.ReadUint16LengthPrefixed(&exts) || !prefixEnd.Empty() {
		return nil
	}
	// Find the server name first: nearly every hello has no dot to
	// remove, and is then left as it is, unbuilt.
	// Two server_name extensions are an error crypto/tls reports itself.
	var sni []byte
	names := 0
	for rest := exts; !rest.Empty(); {
		var extType uint16
		var data cryptobyte.String
		if !rest.ReadUint16(&extType) || !rest.ReadUint16LengthPrefixed(&data) {
			return nil
		}
		if extType == extensionServerName {
			names++
			if out, ok := stripNameList(data); ok {
				sni = out
			}
		}
	}
	if sni == nil || names != 1 {
		return nil
	}
	var b cryptobyte.Builder
	b.AddUint8(recordTypeHandshake)
	b.AddUint16(recVersion)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint8(handshakeClientHello)
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddBytes(prefix)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				for !exts.Empty() {
					var extType uint16
					var data cryptobyte.String
					// The first pass read these same bytes.
					exts.ReadUint16(&extType)
					exts.ReadUint16LengthPrefixed(&data)
					if extType == extensionServerName {
						data = sni
					}
					b.AddUint16(extType)
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(data) })
				}
			})
		})
	})
	out, err := b.Bytes()
	if err != nil {
		return nil
	}
	return out
}

const extensionServerName = 0

// errNotHello stops a builder on bytes that are no ClientHello.
var errNotHello = errors.New("not a client hello")

// stripNameList returns a server_name extension's body with the trailing
// dots of its host name removed, and whether there were any.
func stripNameList(data cryptobyte.String) ([]byte, bool) {
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
		return nil, false
	}
	changed := false
	var b cryptobyte.Builder
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for !list.Empty() {
			var nameType uint8
			var name cryptobyte.String
			if !list.ReadUint8(&nameType) || !list.ReadUint16LengthPrefixed(&name) {
				b.SetError(errNotHello)
				return
			}
			if trimmed := strings.TrimRight(string(name), "."); nameType == 0 && trimmed != "" && len(trimmed) < len(name) {
				name, changed = cryptobyte.String(trimmed), true
			}
			b.AddUint8(nameType)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(name) })
		}
	})
	out, err := b.Bytes()
	return out, err == nil && changed
}
