package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/crowdsec"
	"github.com/xdpban/xdpban/internal/daemon"
	"github.com/xdpban/xdpban/internal/jail"
)

// crowdsecOptions reads the --crowdsec-* flags.
func crowdsecOptions(c *cli.Context) (daemon.CrowdSecOptions, error) {
	o := daemon.CrowdSecOptions{
		URL:            strings.TrimSpace(c.String("crowdsec-url")),
		BouncerKeyFile: c.String("crowdsec-bouncer-key-file"),
		Machine:        strings.TrimSpace(c.String("crowdsec-machine")),
		PasswordFile:   c.String("crowdsec-password-file"),
		Filter: crowdsec.Filter{
			SupportedDecisionsTypes: c.StringSlice("crowdsec-supported-decisions-types"),
			Scopes:                  c.StringSlice("crowdsec-scopes"),
			Origins:                 c.StringSlice("crowdsec-origins"),
			ScenariosContaining:     c.StringSlice("crowdsec-scenarios-containing"),
			ScenariosNotContaining:  c.StringSlice("crowdsec-scenarios-not-containing"),
		},
	}
	d, err := jail.ParseDuration(c.String("crowdsec-interval"))
	if err != nil || d <= 0 {
		return o, fmt.Errorf("crowdsec-interval: %q: give a positive duration such as 10s or 1s", c.String("crowdsec-interval"))
	}
	o.Interval = d
	for _, s := range o.Filter.Scopes {
		if !strings.EqualFold(s, "ip") && !strings.EqualFold(s, "range") {
			return o, fmt.Errorf("crowdsec-scopes: %q: XDP enforces the scopes ip and range only", s)
		}
	}
	return o, nil
}
