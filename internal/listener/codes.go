package listener

// Codes are the numbers OS4X writes in its fail2ban log: OpenSSL 3's packed
// error codes, ERR_LIB_SSL<<23 | reason for TLS errors, and
// ERR_SYSTEM_FLAG | errno for system errors (OpenSSL 3's
// ERR_raise(ERR_LIB_SYS, errno) form), so habits and filters built on OS4X
// logs keep working.
const (
	libSSL     = 20 << 23 // ERR_LIB_SSL << ERR_LIB_OFFSET = 167772160
	libASN1    = 13 << 23 // ERR_LIB_ASN1 << ERR_LIB_OFFSET
	systemFlag = 1 << 31  // ERR_SYSTEM_FLAG
	alertBase  = 1000     // SSL_AD_REASON_OFFSET: reason = 1000 + alert
	sslAlert   = libSSL + alertBase

	CodeNoClientCert       = libSSL + 199  // SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE
	CodeVerifyFailed       = libSSL + 134  // SSL_R_CERTIFICATE_VERIFY_FAILED
	CodeUnsupportedVersion = libSSL + 258  // SSL_R_UNSUPPORTED_PROTOCOL
	CodeNoSharedCipher     = libSSL + 193  // SSL_R_NO_SHARED_CIPHER
	CodeHTTPRequest        = libSSL + 156  // SSL_R_HTTP_REQUEST
	CodeNotTLS             = libSSL + 267  // SSL_R_WRONG_VERSION_NUMBER
	CodeUnexpectedEOF      = libSSL + 294  // SSL_R_UNEXPECTED_EOF_WHILE_READING
	CodeUnexpectedMessage  = libSSL + 244  // SSL_R_UNEXPECTED_MESSAGE: any other protocol error
	CodeBadSignature       = libSSL + 123  // SSL_R_BAD_SIGNATURE: CertificateVerify does not match the certificate
	CodeNoKeyShare         = libSSL + 101  // SSL_R_NO_SUITABLE_KEY_SHARE: TLS 1.3, no group in common
	CodeProxyRequest       = libSSL + 155  // SSL_R_HTTPS_PROXY_REQUEST: "CONNE..."
	CodeUnknownProtocol    = libSSL + 252  // SSL_R_UNKNOWN_PROTOCOL: SSLv2 hello for SSLv2
	CodeVersionTooLow      = libSSL + 396  // SSL_R_VERSION_TOO_LOW: SSLv3 hello
	CodePacketTooLong      = libSSL + 198  // SSL_R_PACKET_LENGTH_TOO_LONG: record beyond OpenSSL's buffer
	CodeEncryptedTooLong   = libSSL + 150  // SSL_R_ENCRYPTED_LENGTH_TOO_LONG
	CodeDataTooLong        = libSSL + 146  // SSL_R_DATA_LENGTH_TOO_LONG: record over 16 KiB
	CodeRecordTooSmall     = libSSL + 298  // SSL_R_RECORD_TOO_SMALL: too many empty records
	CodeLengthMismatch     = libSSL + 159  // SSL_R_LENGTH_MISMATCH: a ClientHello that does not parse
	CodeCertLengthMismatch = libSSL + 135  // SSL_R_CERT_LENGTH_MISMATCH: bytes after a certificate
	CodeASN1TooLong        = libASN1 + 155 // ASN1_R_TOO_LONG: certificate bytes that are no DER

	// System errors. A handshake that does not finish within the
	// handshake timeout is logged as ETIMEDOUT (110), a reset as
	// ECONNRESET (104), a connection refused because the handshake limits
	// were full as EAGAIN (11), and one closed because its source was just
	// banned as ECONNABORTED (103).
	CodeTimeout    = systemFlag | 110
	CodeReset      = systemFlag | 104
	CodeOverLimit  = systemFlag | 11
	CodeBanAborted = systemFlag | 103
)

// CodeAlert returns the code for a fatal alert the client sent.
func CodeAlert(alert uint8) uint32 { return sslAlert + uint32(alert) }

// messages are the only texts a log line's message can hold: fixed strings
// (OpenSSL's reason strings, strerror for system errors), never client data.
var messages = map[uint32]string{
	CodeNoClientCert:       "peer did not return a certificate",
	CodeVerifyFailed:       "certificate verify failed",
	CodeUnsupportedVersion: "unsupported protocol",
	CodeNoSharedCipher:     "no shared cipher",
	CodeHTTPRequest:        "http request",
	CodeNotTLS:             "wrong version number",
	CodeUnexpectedEOF:      "unexpected eof while reading",
	CodeUnexpectedMessage:  "unexpected message",
	CodeBadSignature:       "bad signature",
	CodeNoKeyShare:         "no suitable key share",
	CodeProxyRequest:       "https proxy request",
	CodeUnknownProtocol:    "unknown protocol",
	CodeVersionTooLow:      "version too low",
	CodePacketTooLong:      "packet length too long",
	CodeEncryptedTooLong:   "encrypted length too long",
	CodeDataTooLong:        "data length too long",
	CodeRecordTooSmall:     "record too small",
	CodeLengthMismatch:     "length mismatch",
	CodeCertLengthMismatch: "cert length mismatch",
	CodeASN1TooLong:        "too long",
	CodeTimeout:            "Connection timed out",
	CodeReset:              "Connection reset by peer",
	CodeOverLimit:          "Resource temporarily unavailable",
	CodeBanAborted:         "Software caused connection abort",
}

// alertMessages are OpenSSL's texts for alerts a client sends.
var alertMessages = map[uint8]string{
	10:  "sslv3 alert unexpected message",
	20:  "sslv3 alert bad record mac",
	40:  "sslv3 alert handshake failure",
	42:  "sslv3 alert bad certificate",
	43:  "sslv3 alert unsupported certificate",
	44:  "sslv3 alert certificate revoked",
	45:  "sslv3 alert certificate expired",
	46:  "sslv3 alert certificate unknown",
	47:  "sslv3 alert illegal parameter",
	48:  "tlsv1 alert unknown ca",
	49:  "tlsv1 alert access denied",
	50:  "tlsv1 alert decode error",
	51:  "tlsv1 alert decrypt error",
	70:  "tlsv1 alert protocol version",
	71:  "tlsv1 alert insufficient security",
	80:  "tlsv1 alert internal error",
	86:  "tlsv1 alert inappropriate fallback",
	90:  "tlsv1 alert user cancelled",
	109: "tlsv13 alert missing extension",
	110: "tlsv1 unsupported extension",
	112: "tlsv1 unrecognized name",
	116: "tlsv13 alert certificate required",
	120: "tlsv1 alert no application protocol",
}

// Message returns the fixed text for code.
func Message(code uint32) string {
	if m, ok := messages[code]; ok {
		return m
	}
	if code >= sslAlert && code <= sslAlert+255 {
		if m, ok := alertMessages[uint8(code-sslAlert)]; ok {
			return m
		}
		return "tls alert"
	}
	return "unknown error"
}
