package listener

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"reflect"
	"strconv"
	"strings"
	"syscall"
)

// sniff reads the client's first records as OpenSSL 3.0's record layer
// does, before crypto/tls sees them, so that what either would refuse gets
// OpenSSL's code (OS4X logs those, and Go words record errors differently
// or not at all). It returns 0 to go on with the handshake, or the
// failure's code; scan is true for a connection closed (FIN or RST, as
// nmap's connect scan does) before sending anything. A silent connection
// that stays open until the timeout is not a scan: it holds a slot, and
// always counts. Like OpenSSL, it waits for a whole header, and for a
// whole record before judging the record's type.
func sniff(br *bufio.Reader) (code uint32, scan bool) {
	for empty := 0; ; empty++ {
		hdr, err := br.Peek(recordHeaderLen)
		if err != nil {
			code := classifyIOError(err)
			return code, len(hdr) == 0 && empty == 0 && (code == CodeUnexpectedEOF || code == CodeReset)
		}
		if empty == 0 && isSSLv2Hello(hdr) {
			return sniffSSLv2(br, hdr)
		}
		if hdr[1] != 3 {
			if empty == 0 {
				return notTLS(hdr), false
			}
			return CodeNotTLS, false
		}
		typ, n := hdr[0], int(hdr[3])<<8|int(hdr[4])
		if n > maxRecordLen {
			return CodePacketTooLong, false
		}
		if typ == recordTypeHandshake && n > 0 && n <= maxPlainLen {
			// Go takes it from here; only a first message that is not a
			// ClientHello is judged now (Go reports it as a decode error).
			msg, err := br.Peek(recordHeaderLen + 1)
			if err != nil {
				return classifyIOError(err), false
			}
			if msg[recordHeaderLen] != handshakeClientHello {
				return CodeUnexpectedMessage, false
			}
			return 0, false
		}
		// Every other record fails once it is complete. (Discard may
		// refill the buffer hdr points into.)
		if _, err := br.Discard(recordHeaderLen + n); err != nil {
			return classifyIOError(err), false
		}
		switch {
		case n > maxEncryptedLen:
			return CodeEncryptedTooLong, false
		case n > maxPlainLen:
			return CodeDataTooLong, false
		case typ != recordTypeHandshake:
			return CodeUnexpectedMessage, false
		case empty == maxEmptyRecords:
			return CodeRecordTooSmall, false
		}
		// An empty handshake record: OpenSSL reads on, and Go need not
		// see it.
	}
}

// notTLS names a first record whose version is not TLS's, as OpenSSL's
// ssl3_get_record does: four HTTP methods, a proxy's CONNECT, anything else.
func notTLS(hdr []byte) uint32 {
	for _, m := range []string{"GET ", "POST ", "HEAD ", "PUT "} {
		if bytes.HasPrefix(hdr, []byte(m)) {
			return CodeHTTPRequest
		}
	}
	if bytes.HasPrefix(hdr, []byte("CONNE")) {
		return CodeProxyRequest
	}
	return CodeNotTLS
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
	case errors.As(err, &cve):
		return CodeVerifyFailed, ""
	case strings.Contains(msg, "invalid signature by the client certificate"):
		return CodeBadSignature, ""
	case strings.Contains(msg, "failed to parse client certificate"):
		// OpenSSL parses the DER before anything else and reports its
		// ASN.1 error; Go says "trailing data" where OpenSSL's TLS code
		// finds the certificate shorter than its length field.
		if strings.Contains(msg, "trailing data") {
			return CodeCertLengthMismatch, ""
		}
		return CodeASN1TooLong, ""
	case errors.As(err, &oe) && oe.Op == "remote error":
		// crypto/tls reports a received alert as an unexported uint8 type.
		if v := reflect.ValueOf(oe.Err); v.Kind() == reflect.Uint8 {
			return CodeAlert(uint8(v.Uint())), ""
		}
		return CodeUnexpectedMessage, ""
	case strings.Contains(msg, "didn't provide a certificate"):
		return CodeNoClientCert, ""
	case strings.Contains(msg, "client offered only unsupported versions"):
		return versionCode(msg), ""
	case strings.Contains(msg, "unsupported versions"), strings.Contains(msg, "unsupported SSLv2"):
		return CodeUnsupportedVersion, ""
	case strings.Contains(msg, "no key exchanges supported"):
		return CodeNoKeyShare, ""
	case strings.Contains(msg, "no cipher suite supported"),
		strings.Contains(msg, "no ECDHE curve supported"),
		strings.Contains(msg, "no mutually supported"):
		return CodeNoSharedCipher, ""
	case strings.Contains(msg, "error decoding message"):
		// sniff let only a ClientHello through, and OpenSSL finds the
		// lengths inside one that does not parse wrong.
		return CodeLengthMismatch, ""
	}
	return classifyIOError(err), ""
}

// versionCode maps Go's "client offered only unsupported versions: [302
// 301]": OpenSSL refuses SSLv3 (0x300, which Go does not even list) as too
// low, and TLS 1.0 and 1.1 as unsupported.
func versionCode(msg string) uint32 {
	list := msg[strings.LastIndexByte(msg, '[')+1:]
	for _, v := range strings.Fields(strings.Trim(list, "]")) {
		if n, err := strconv.ParseUint(v, 16, 16); err == nil && n > 0x300 {
			return CodeUnsupportedVersion
		}
	}
	return CodeVersionTooLow
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
