package listener

// Codes are the numbers OS4X writes in its fail2ban log: OpenSSL 3's packed
// error codes, ERR_LIB_SSL<<23 | reason for TLS errors, and
// ERR_SYSTEM_FLAG | errno for system errors (OpenSSL 3's
// ERR_raise(ERR_LIB_SYS, errno) form), so habits and filters built on OS4X
// logs keep working.
const (
	libSSL     = 20 << 23 // ERR_LIB_SSL << ERR_LIB_OFFSET = 167772160
	systemFlag = 1 << 31  // ERR_SYSTEM_FLAG
	alertBase  = 1000     // SSL_AD_REASON_OFFSET: reason = 1000 + alert
	sslAlert   = libSSL + alertBase

	CodeNoClientCert       = libSSL + 199 // SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE
	CodeVerifyFailed       = libSSL + 134 // SSL_R_CERTIFICATE_VERIFY_FAILED
	CodeUnsupportedVersion = libSSL + 258 // SSL_R_UNSUPPORTED_PROTOCOL
	CodeNoSharedCipher     = libSSL + 193 // SSL_R_NO_SHARED_CIPHER
	CodeHTTPRequest        = libSSL + 156 // SSL_R_HTTP_REQUEST
	CodeNotTLS             = libSSL + 267 // SSL_R_WRONG_VERSION_NUMBER
	CodeUnexpectedEOF      = libSSL + 294 // SSL_R_UNEXPECTED_EOF_WHILE_READING
	CodeUnexpectedMessage  = libSSL + 244 // SSL_R_UNEXPECTED_MESSAGE: any other protocol error

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
