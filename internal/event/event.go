// Package event holds the value types that flow between xdpban's parts: a
// failed TLS handshake seen by the listener or read from a watched log,
// on its way to the jail.
package event

import (
	"net/netip"
	"time"
)

// Failure is one failed connection attempt from one address.
type Failure struct {
	// Addr is the numeric TCP peer, IPv4-mapped addresses unmapped.
	Addr netip.Addr
	// Time is when the failure happened (for a watched log: the time written
	// in the line, so findtime holds for lines read late).
	Time time.Time
	// Code is OpenSSL 3's packed error code (ERR_LIB_SSL<<23 | reason), or
	// one of the other codes OS4X writes.
	Code uint32
	// Message is the fixed text for Code. It never contains client text.
	Message string
	// Name is the partner name from a certificate that verified, if any.
	// Untrusted for log purposes: writers must escape it.
	Name string
	// Source names where the failure came from: "listener" or a log path.
	Source string
	// Line is the log line as written or read, for ban notifications.
	Line string
}
