package crowdsec

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Decision is one entry of LAPI's decision stream.
type Decision struct {
	ID       int64
	Origin   string // "cscli", "crowdsec", "CAPI", "xdpban", ...
	Scenario string
	Scope    string // "Ip" or "Range" are enforced
	Type     string // "ban" is enforced
	Value    string // as LAPI sent it
	// Duration is the time left; negative for a deleted decision.
	Duration time.Duration
	// Prefix is Value parsed: an address is a /32 or /128, IPv4-mapped
	// addresses are unmapped. Invalid for scopes other than Ip and Range.
	Prefix netip.Prefix
}

// wireDecision is a decision as LAPI writes it.
type wireDecision struct {
	Duration string `json:"duration"`
	ID       int64  `json:"id"`
	Origin   string `json:"origin"`
	Scenario string `json:"scenario"`
	Scope    string `json:"scope"`
	Type     string `json:"type"`
	Value    string `json:"value"`
}

func (w *wireDecision) decision() (Decision, error) {
	d := Decision{ID: w.ID, Origin: w.Origin, Scenario: w.Scenario, Scope: w.Scope, Type: w.Type, Value: w.Value}
	dur, err := time.ParseDuration(w.Duration)
	if err != nil {
		return d, fmt.Errorf("decision %d: duration %q: %w", w.ID, w.Duration, err)
	}
	d.Duration = dur
	switch {
	case strings.EqualFold(w.Scope, "ip"):
		a, err := netip.ParseAddr(w.Value)
		if err != nil || a.Zone() != "" {
			return d, fmt.Errorf("decision %d: %q is not an IP address", w.ID, w.Value)
		}
		a = a.Unmap()
		d.Prefix = netip.PrefixFrom(a, a.BitLen())
	case strings.EqualFold(w.Scope, "range"):
		p, err := netip.ParsePrefix(w.Value)
		if err != nil {
			return d, fmt.Errorf("decision %d: %q is not a CIDR range", w.ID, w.Value)
		}
		d.Prefix = unmapPrefix(p).Masked()
	}
	return d, nil
}

// unmapPrefix turns ::ffff:a.b.c.d/N (N >= 96) into a.b.c.d/(N-96); LAPI
// returns IPv4-mapped values verbatim and the datapath keys IPv4 as IPv4.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// Deleted reports a deletion (LAPI sends them with a negative duration).
func (d Decision) Deleted() bool { return d.Duration < 0 }
