package listener

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"time"

	"github.com/xdpban/xdpban/internal/event"
)

// Config is what the listener needs; the daemon fills it from flags.
type Config struct {
	// ListenAddr is where to accept TLS, e.g. ":6619". The daemon listens
	// on it and hands the listener to Serve.
	ListenAddr string
	// CertFile and KeyFile hold the server certificate chain and key (PEM).
	CertFile, KeyFile string
	// MoreCerts are further chains and keys, e.g. an RSA one beside an
	// ECDSA one: each client gets the first of CertFile and MoreCerts whose
	// key type and signature algorithms it supports.
	MoreCerts []CertPair
	// ClientCAFile is the PEM bundle client certificates must chain to.
	ClientCAFile string
	// CRLFile, when set, is a PEM or DER file of CRLs; the issuer of every
	// client certificate must have a current CRL in it (OpenSSL's
	// X509_V_FLAG_CRL_CHECK semantics), and revoked certificates fail.
	CRLFile string
	// AllowCN and AllowSAN, when either is non-empty, restrict verified
	// partners to those whose subject CN or one of whose SANs (DNS, e-mail,
	// URI or IP, as text) is listed.
	AllowCN, AllowSAN []string

	// BackendAddr is the TCP address authenticated connections go to.
	BackendAddr string
	// BackendProxyProtocol sends a PROXY protocol v2 header to the backend
	// first, so it sees the partner's address.
	BackendProxyProtocol bool

	// HandshakeTimeout bounds the time from accept to a finished handshake
	// (default 10s).
	HandshakeTimeout time.Duration
	// IdleTimeout closes a forwarded connection after this long without
	// data in either direction (default 30m; OFTP2 sessions can sit idle).
	IdleTimeout time.Duration
	// MaxHandshakes bounds concurrent handshakes overall (default 1024),
	// MaxHandshakesPerSource per source address (default 8). A connection
	// over its source's limit is closed at once and counts as a failure.
	// When all MaxHandshakes slots are taken, a new connection evicts the
	// one that has been silent longest, without a ClientHello, for at least
	// the silent grace (a quarter of HandshakeTimeout, at most 1s), and
	// that eviction counts against the evicted source; with none to evict
	// the newcomer is closed and not counted (OnRefused).
	MaxHandshakes, MaxHandshakesPerSource int
	// SourcePrefixV6 is the prefix length at which IPv6 sources count as
	// one for MaxHandshakesPerSource: the ban prefix (default 128).
	SourcePrefixV6 int
	// CountScans makes a connection closed at once without sending a byte
	// (a connect scan, a load balancer's health check; by FIN: EOF
	// 167772454, by RST: ECONNRESET) a failure.
	// Off by default: health checks from a front end would otherwise get it
	// banned. Connections that sent part of a handshake always count, and
	// so do silent ones closed after the silent grace: they held a slot.
	CountScans bool

	// Partners is the set of known partners (recent mTLS success,
	// ignoreip): they have reserved handshake slots and do not wait behind
	// unknown sources for the CPU. The listener adds every partner whose
	// handshake succeeds. Nil: an empty set of its own.
	Partners *Partners
	// UnknownHandshakes is how many handshakes of unknown sources may
	// compute at once (default: GOMAXPROCS, one per CPU). More wait their
	// turn, first come first served, for at most half the handshake
	// timeout; then they are refused, not counted (OnRefused).
	UnknownHandshakes int

	// OnFailure receives every failed handshake, exactly once, from the
	// connection's goroutine. Required.
	OnFailure func(event.Failure)
	// OnSuccess, when set, hears of every partner whose handshake
	// succeeded (for metrics), with the verified partner name.
	OnSuccess func(peer netip.Addr, name string)
	// OnRefused, when set, hears of every connection closed unheard for a
	// reason that is not the source's doing (for metrics). It is not a
	// failure and is not logged for fail2ban.
	OnRefused func(peer netip.Addr, why Refusal)
	// OnForwardError, when set, hears of every partner connection the
	// backend did not take (for metrics).
	OnForwardError func()
	// Logger receives operational messages (backend unreachable, ...);
	// nil discards them.
	Logger *slog.Logger
}

// CertPair is a certificate chain file and its key file (PEM).
type CertPair struct{ CertFile, KeyFile string }

// Refusal says why a connection was closed unheard without counting it.
type Refusal string

const (
	// RefusedBusy: every handshake slot it may use was taken by
	// connections younger than the silent grace.
	RefusedBusy Refusal = "busy"
	// RefusedUnknown: an unknown source's handshake did not get a CPU turn
	// within half the handshake timeout.
	RefusedUnknown Refusal = "unknown-capacity"
)

// maxSilentGrace caps the time a connection may sit silent before it
// counts: a scan or a health check closes within milliseconds.
const maxSilentGrace = time.Second

// silentGrace is how long a connection may hold a slot without sending
// anything and still count as a scan when it closes, and how long it is
// safe from eviction.
func (c Config) silentGrace() time.Duration {
	return min(maxSilentGrace, c.HandshakeTimeout/4)
}

const (
	defaultHandshakeTimeout = 10 * time.Second
	defaultIdleTimeout      = 30 * time.Minute
	defaultMaxHandshakes    = 1024
	defaultMaxPerSource     = 8
)

// withDefaults fills zero values and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = defaultHandshakeTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = defaultIdleTimeout
	}
	if c.MaxHandshakes <= 0 {
		c.MaxHandshakes = defaultMaxHandshakes
	}
	if c.MaxHandshakesPerSource <= 0 {
		c.MaxHandshakesPerSource = defaultMaxPerSource
	}
	if c.Partners == nil {
		c.Partners = NewPartners(0, 0, nil)
	}
	if c.UnknownHandshakes <= 0 {
		c.UnknownHandshakes = runtime.GOMAXPROCS(0)
	}
	if c.SourcePrefixV6 == 0 {
		c.SourcePrefixV6 = 128
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if c.CertFile == "" || c.KeyFile == "" {
		errs = append(errs, errors.New("cert and key are required"))
	}
	if c.ClientCAFile == "" {
		errs = append(errs, errors.New("client ca is required"))
	}
	if c.BackendAddr == "" {
		errs = append(errs, errors.New("backend is required"))
	}
	if c.SourcePrefixV6 < 1 || c.SourcePrefixV6 > 128 {
		errs = append(errs, fmt.Errorf("IPv6 source prefix %d: must be 1 to 128", c.SourcePrefixV6))
	}
	if c.OnFailure == nil {
		errs = append(errs, errors.New("failure callback is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("check listener config: %w", err)
	}
	return c, nil
}
