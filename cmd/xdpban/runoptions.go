package main

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/daemon"
	"github.com/xdpban/xdpban/internal/f2blog"
	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/listener"
	"github.com/xdpban/xdpban/internal/xdp"
)

// optionsFromFlags turns the flags into daemon options. Every error names
// the key it is about, so a broken config file is fixed in one go.
func optionsFromFlags(c *cli.Context) (daemon.Options, error) {
	o := daemon.Options{
		LogOnly:        c.Bool("log-only"),
		Fail2banLog:    c.String("fail2ban-log"),
		WatchLogs:      c.StringSlice("watch-log"),
		WatchFromStart: c.Bool("watch-log-from-start"),
		StateDir:       c.String("state-dir"),
		ControlSock:    c.String("control-socket"),
		Metrics:        c.String("metrics"),
		OnBan:          c.String("on-ban"),
		OnUnban:        c.String("on-unban"),
	}
	var err error
	if o.LogLevel, err = parseLogLevel(c.String("log-level")); err != nil {
		return o, err
	}
	if o.LogTimeMode, err = f2blog.ParseTimeMode(c.String("fail2ban-log-time")); err != nil {
		return o, fmt.Errorf("fail2ban-log-time: %w", err)
	}
	if !o.LogOnly {
		if o.Datapath, err = datapathOptions(c); err != nil {
			return o, err
		}
		if o.Jail, err = jailConfig(c); err != nil {
			return o, err
		}
	}
	if c.String("listen") != "" {
		if o.Listener, err = listenerConfig(c); err != nil {
			return o, err
		}
	}
	if o.CrowdSec, err = crowdsecOptions(c); err != nil {
		return o, err
	}
	return o, o.Validate()
}

func datapathOptions(c *cli.Context) (daemon.DatapathOptions, error) {
	var o daemon.DatapathOptions
	mode, err := xdp.ParseMode(c.String("xdp-mode"))
	if err != nil {
		return o, err
	}
	ports, err := xdp.ParsePorts(c.String("ports"))
	if err != nil {
		return o, fmt.Errorf("ports: %w", err)
	}
	if p := c.Int("ipv6-prefix"); p < 1 || p > 128 {
		return o, fmt.Errorf("ipv6-prefix %d: must be from 1 to 128", p)
	}
	maxBans := uint32(0) // keep a pinned map's size unless asked
	if c.IsSet("max-bans") {
		if n := c.Uint("max-bans"); n < 1 || n > 1<<28 {
			return o, fmt.Errorf("max-bans %d: must be from 1 to %d", n, 1<<28)
		}
		maxBans = uint32(c.Uint("max-bans"))
	}
	sweep, err := jail.ParseDuration(c.String("sweep-interval"))
	if err != nil || sweep <= 0 {
		return o, fmt.Errorf("sweep-interval: %q must be a positive duration like 1m", c.String("sweep-interval"))
	}
	return daemon.DatapathOptions{
		Interfaces:    c.StringSlice("iface"),
		Mode:          mode,
		SweepInterval: sweep,
		Config: xdp.Config{
			PinDir:     c.String("pin-dir"),
			Ports:      ports,
			IPv6Prefix: c.Int("ipv6-prefix"),
			MaxBans:    maxBans,
		},
	}, nil
}

func jailConfig(c *cli.Context) (jail.Config, error) {
	cfg := jail.DefaultConfig()
	cfg.MaxRetry = c.Int("maxretry")
	cfg.Increment = c.Bool("bantime-increment")
	cfg.Factor = c.Float64("bantime-factor")
	cfg.IgnoreSelf = c.Bool("ignoreself")
	cfg.SelfAddrs = daemon.SelfAddrs
	cfg.IPv6Prefix = c.Int("ipv6-prefix")
	cfg.MaxTracked = c.Int("max-tracked")
	for key, dst := range map[string]*time.Duration{
		"findtime": &cfg.FindTime, "bantime": &cfg.BanTime, "dbpurgeage": &cfg.DBPurgeAge,
		"bantime-maxtime": &cfg.MaxTime, "bantime-rndtime": &cfg.RndTime,
	} {
		if c.String(key) == "" {
			*dst = 0
			continue
		}
		d, err := jail.ParseDuration(c.String(key))
		if err != nil {
			return cfg, fmt.Errorf("%s: %w", key, err)
		}
		*dst = d
	}
	cfg.Multipliers = nil
	for _, f := range strings.Fields(c.String("bantime-multipliers")) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return cfg, fmt.Errorf("bantime-multipliers: %q is not a positive whole number", f)
		}
		cfg.Multipliers = append(cfg.Multipliers, n)
	}
	var err error
	if cfg.IgnoreIP, err = parseIgnoreIP(c.StringSlice("ignoreip")); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// parseIgnoreIP reads fail2ban's ignoreip: addresses and CIDRs, separated
// by spaces or commas, in one value or several.
func parseIgnoreIP(values []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range values {
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' }) {
			if p, err := netip.ParsePrefix(f); err == nil {
				out = append(out, p.Masked())
				continue
			}
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("ignoreip: %q is not an address or CIDR (host names are not resolved)", f)
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out, nil
}

func listenerConfig(c *cli.Context) (*listener.Config, error) {
	cfg := &listener.Config{
		ListenAddr:             c.String("listen"),
		ClientCAFile:           c.String("client-ca"),
		CRLFile:                c.String("crl"),
		AllowCN:                c.StringSlice("allow-cn"),
		AllowSAN:               c.StringSlice("allow-san"),
		BackendAddr:            c.String("backend"),
		BackendProxyProtocol:   c.Bool("backend-proxy-protocol"),
		MaxHandshakes:          c.Int("max-handshakes"),
		MaxHandshakesPerSource: c.Int("max-handshakes-per-source"),
		SourcePrefixV6:         c.Int("ipv6-prefix"),
		CountScans:             c.Bool("count-scans"),
	}
	certs, keys := c.StringSlice("cert"), c.StringSlice("key")
	if len(certs) != len(keys) {
		return nil, fmt.Errorf("cert: %d --cert but %d --key: give one key per certificate, in the same order", len(certs), len(keys))
	}
	for i := range certs {
		if i == 0 {
			cfg.CertFile, cfg.KeyFile = certs[0], keys[0]
			continue
		}
		cfg.MoreCerts = append(cfg.MoreCerts, listener.CertPair{CertFile: certs[i], KeyFile: keys[i]})
	}
	for _, key := range []string{"cert", "key", "client-ca", "backend"} {
		missing := c.String(key) == ""
		if key == "cert" || key == "key" {
			missing = len(c.StringSlice(key)) == 0
		}
		if missing {
			return nil, fmt.Errorf("%s: the TLS listener on %q needs --cert, --key, --client-ca and --backend (or --listen \"\" to run without it)", key, cfg.ListenAddr)
		}
	}
	for key, dst := range map[string]*time.Duration{"handshake-timeout": &cfg.HandshakeTimeout, "idle-timeout": &cfg.IdleTimeout} {
		d, err := jail.ParseDuration(c.String(key))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%s: %q must be a positive duration like 10s", key, c.String(key))
		}
		*dst = d
	}
	if cfg.MaxHandshakes < 1 || cfg.MaxHandshakesPerSource < 1 {
		return nil, fmt.Errorf("max-handshakes: both limits must be at least 1")
	}
	return cfg, nil
}
