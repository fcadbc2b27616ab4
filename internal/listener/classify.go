package listener

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"reflect"
	"strings"
	"syscall"
)

// tlsHandshakeRecord is the first byte of every TLS (1.0-1.3) ClientHello.
const tlsHandshakeRecord = 0x16

// httpMethods are request lines a plain-HTTP client starts with.
var httpMethods = []string{"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "CONNECT ", "PATCH ", "TRACE ", "PRI "}

// sniff looks at the first bytes before crypto/tls sees them, because Go
// reports plain HTTP and other garbage alike, while OS4X's codes tell them
// apart. It returns 0 to go on with the handshake, or the failure's code;
// scan is true for a connection closed (FIN or RST, as nmap's connect scan
// does) before sending anything. A silent connection that stays open until
// the timeout is not a scan: it holds a slot, and always counts.
func sniff(br *bufio.Reader) (code uint32, scan bool) {
	first, err := br.Peek(1)
	if err != nil {
		code := classifyIOError(err)
		return code, code == CodeUnexpectedEOF || code == CodeReset
	}
	if first[0] == tlsHandshakeRecord {
		return 0, false
	}
	// Only what arrived with the first read is judged: waiting for more
	// would let a slow sender turn garbage into a timeout.
	got, _ := br.Peek(br.Buffered())
	if first[0]&0x80 != 0 && len(got) >= 3 && got[2] == 1 {
		return CodeUnsupportedVersion, false // SSLv2-compatible ClientHello
	}
	for _, m := range httpMethods {
		if bytes.HasPrefix(got, []byte(m)) {
			return CodeHTTPRequest, false
		}
	}
	return CodeNotTLS, false
}

// classifyHandshake maps a failed crypto/tls server handshake to a code and,
// when the client certificate verified against our CA, the partner's name.
func classifyHandshake(err error) (code uint32, name string) {
	var ve *errVerify
	var cve *tls.CertificateVerificationError
	var oe *net.OpError
	msg := err.Error()
	switch {
	case errors.As(err, &ve):
		return CodeVerifyFailed, ve.name
	case errors.As(err, &cve), strings.Contains(msg, "invalid signature by the client certificate"):
		return CodeVerifyFailed, ""
	case errors.As(err, &oe) && oe.Op == "remote error":
		// crypto/tls reports a received alert as an unexported uint8 type.
		if v := reflect.ValueOf(oe.Err); v.Kind() == reflect.Uint8 {
			return CodeAlert(uint8(v.Uint())), ""
		}
		return CodeUnexpectedMessage, ""
	case strings.Contains(msg, "didn't provide a certificate"):
		return CodeNoClientCert, ""
	case strings.Contains(msg, "unsupported versions"), strings.Contains(msg, "unsupported SSLv2"):
		return CodeUnsupportedVersion, ""
	case strings.Contains(msg, "no cipher suite supported"),
		strings.Contains(msg, "no ECDHE curve supported"),
		strings.Contains(msg, "no mutually supported"):
		return CodeNoSharedCipher, ""
	}
	return classifyIOError(err), ""
}

// classifyIOError maps transport errors: timeout, reset, EOF.
func classifyIOError(err error) uint32 {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return CodeTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return CodeReset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return CodeUnexpectedEOF
	}
	return CodeUnexpectedMessage
}
