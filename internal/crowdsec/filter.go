package crowdsec

import (
	"net/url"
	"slices"
	"strings"
)

// Filter selects the decisions xdpban enforces. The fields are named after
// the firewall bouncer's configuration keys so that an operator's habits
// carry over; an empty list lets everything through.
type Filter struct {
	// SupportedDecisionsTypes: decision types enforced, default ["ban"].
	SupportedDecisionsTypes []string
	// Scopes: "ip" and/or "range"; others cannot be enforced in XDP.
	Scopes []string
	// Origins: e.g. ["crowdsec", "cscli"]; empty takes every origin.
	Origins []string
	// ScenariosContaining: keep decisions whose scenario contains one.
	ScenariosContaining []string
	// ScenariosNotContaining: drop decisions whose scenario contains one.
	ScenariosNotContaining []string
}

// Reasons a decision is skipped, as the skip counter labels them.
const (
	SkipType     = "type"
	SkipScope    = "scope"
	SkipOrigin   = "origin"
	SkipScenario = "scenario"
	SkipInvalid  = "invalid"
)

// skip returns why d is not enforced, or "".
func (f *Filter) skip(d *Decision) string {
	types := f.SupportedDecisionsTypes
	if len(types) == 0 {
		types = []string{"ban"}
	}
	switch {
	case !containsFold(types, d.Type):
		return SkipType
	case !strings.EqualFold(d.Scope, "ip") && !strings.EqualFold(d.Scope, "range"),
		len(f.Scopes) > 0 && !containsFold(f.Scopes, d.Scope):
		return SkipScope
	case len(f.Origins) > 0 && !containsFold(f.Origins, d.Origin):
		return SkipOrigin
	case len(f.ScenariosContaining) > 0 && !scenarioHas(d.Scenario, f.ScenariosContaining),
		scenarioHas(d.Scenario, f.ScenariosNotContaining):
		return SkipScenario
	}
	return ""
}

// query sets the stream parameters LAPI filters on itself (LAPI 1.4 knows
// scopes, origins and the scenario lists; types are filtered here only).
func (f *Filter) query(q url.Values) {
	for key, list := range map[string][]string{
		"scopes":                   f.Scopes,
		"origins":                  f.Origins,
		"scenarios_containing":     f.ScenariosContaining,
		"scenarios_not_containing": f.ScenariosNotContaining,
	} {
		if len(list) > 0 {
			q.Set(key, strings.Join(list, ","))
		}
	}
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

// scenarioHas matches as LAPI does: case-insensitive substring.
func scenarioHas(scenario string, parts []string) bool {
	scenario = strings.ToLower(scenario)
	return slices.ContainsFunc(parts, func(p string) bool { return strings.Contains(scenario, strings.ToLower(p)) })
}
