package main

import (
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/control"
	"github.com/xdpban/xdpban/internal/f2blog"
	"github.com/xdpban/xdpban/internal/xdp"
)

// env names the XDPBAN_* variable of a flag: --bantime-maxtime reads
// XDPBAN_BANTIME_MAXTIME.
func env(name string) []string {
	return []string{"XDPBAN_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))}
}

func str(name, value, usage string) *cli.StringFlag {
	return &cli.StringFlag{Name: name, Value: value, Usage: usage, EnvVars: env(name)}
}

func strs(name, usage string, value ...string) *cli.StringSliceFlag {
	f := &cli.StringSliceFlag{Name: name, Usage: usage, EnvVars: env(name)}
	if len(value) > 0 {
		f.Value = cli.NewStringSlice(value...)
	}
	return f
}

func boolean(name string, value bool, usage string) *cli.BoolFlag {
	return &cli.BoolFlag{Name: name, Value: value, Usage: usage, EnvVars: env(name)}
}

func integer(name string, value int, usage string) *cli.IntFlag {
	return &cli.IntFlag{Name: name, Value: value, Usage: usage, EnvVars: env(name)}
}

// stateDirFlag is run's --state-dir; ban reads the ignore list the
// daemon left there.
func stateDirFlag() *cli.StringFlag {
	return str("state-dir", "/var/lib/xdpban", "`DIR` for the ban store and watch-log positions")
}

func controlSocketFlag() *cli.StringFlag {
	return str("control-socket", control.DefaultSocket, "unix socket `PATH` of the running daemon")
}

// runFlags are the daemon's settings; every one also reads XDPBAN_<NAME>
// and the key <name> of the --config file. Durations take fail2ban's
// forms (jail.ParseDuration): 600 (seconds), 10m, 1h30m, 1d, 1w, 1mo, 1y,
// from 1s to 100y, or -1 (permanent) where a ban length is meant.
func runFlags() []cli.Flag {
	return []cli.Flag{
		str("config", "", "YAML `FILE` with the same keys as these flags (flags and XDPBAN_* win)"),
		// Enforcement.
		strs("iface", "attach XDP to interface `NAME` (repeatable)"),
		str("xdp-mode", "auto", "`MODE`: auto, native or generic"),
		str("ports", "6619", "protected TCP `PORTS` (6619,443 or 6000-6010), or all for every packet of a banned source"),
		integer("ipv6-prefix", 128, "ban IPv6 sources per prefix of this `LENGTH` (64 bans a whole /64)"),
		&cli.UintFlag{Name: "max-bans", Value: xdp.DefaultMaxBans, Usage: "capacity of the ban map, `N` bans (a pinned map keeps its size)", EnvVars: env("max-bans")},
		boolean("log-only", false, "write the fail2ban log and ban nothing (stock fail2ban bans); needs no privileges"),
		// The TLS listener.
		str("listen", ":6619", "TLS listener `ADDR`; \"\" disables it"),
		strs("cert", "server certificate chain `FILE` (PEM); repeat with --key for a second key type, e.g. ECDSA then RSA: each client gets the first it supports"),
		strs("key", "server private key `FILE` (PEM), one per --cert, in the same order"),
		str("client-ca", "", "CA bundle `FILE` that client certificates must chain to"),
		str("crl", "", "CRL `FILE` (PEM or DER): revoked partners fail, and every issuer needs a current CRL"),
		strs("allow-cn", "accept only partners with this certificate subject `CN` (repeatable)"),
		strs("allow-san", "accept only partners with this `SAN` (repeatable)"),
		str("backend", "", "`ADDR` of the OFTP2 server that authenticated connections go to"),
		boolean("backend-proxy-protocol", false, "send a PROXY protocol v2 header to the backend"),
		str("handshake-timeout", "10s", "`TIME` a client has to finish the TLS handshake"),
		str("idle-timeout", "30m", "close a forwarded connection idle this long (`TIME`)"),
		integer("max-handshakes", 1024, "`N` concurrent handshakes overall; when full, a new connection evicts the one silent longest (counted against it), else is refused uncounted"),
		integer("max-handshakes-per-source", 8, "`N` concurrent handshakes per source address (IPv6: per --ipv6-prefix, as bans are); more count as failures"),
		boolean("count-scans", false, "count connections closed at once without a byte (port scans, health checks) as failures; silent ones closed after a quarter of --handshake-timeout (at most 1s) always count"),
		// The fail2ban log.
		str("fail2ban-log", f2blog.DefaultLogPath, "write one OS4X-format line per failed handshake to `PATH`; \"\" disables"),
		str("fail2ban-log-time", "end", "`WHERE` the timestamp goes in each line: end (default, keeps OS4X filters working), start, or none (as OS4X)"),
		strs("watch-log", "tail the fail2ban-format log `PATH` written by another program, e.g. OS4X's (repeatable)"),
		boolean("watch-log-from-start", false, "read a watched log never seen before from its start, old undated lines included (a deliberate replay; by default only lines dated within findtime and lines written after the start count)"),
		// The jail, with fail2ban's names and meanings.
		integer("maxretry", 3, "`N` failures within findtime ban"),
		str("findtime", "10m", "`TIME` window in which maxretry failures ban"),
		str("bantime", "1h", "ban length `TIME`: 600 (seconds), 10m, 1h30m, 1d, 1w, 1mo, 1y, as fail2ban writes them; 1s to 100y, or -1 for permanent (longer is refused)"),
		boolean("bantime-increment", false, "make repeat offenders' bans longer (bantime * 2^bancount * factor)"),
		&cli.Float64Flag{Name: "bantime-factor", Value: 1, Usage: "`FACTOR` of bantime.increment", EnvVars: env("bantime-factor")},
		str("bantime-multipliers", "", "space-separated `MULTIPLIERS` replacing the formula, e.g. \"1 2 4 8 16\""),
		str("bantime-maxtime", "", "longest incremented ban `TIME` (\"\" no cap but 100y, the longest ban)"),
		str("bantime-rndtime", "", "random extra ban time, up to `TIME`"),
		str("dbpurgeage", "1d", "`TIME` past bans count for bantime.increment"),
		strs("ignoreip", "`ADDR` or CIDR never banned, by failures or by hand, several separated by spaces or commas; a ban whose prefix (--ipv6-prefix) covers one is refused", "127.0.0.0/8", "::1"),
		boolean("ignoreself", true, "never ban this host's own addresses"),
		integer("max-tracked", 100000, "`N` addresses with failure records kept at most; the oldest go first"),
		// Files, pins and interfaces to other programs.
		stateDirFlag(),
		pinDirFlag(),
		controlSocketFlag(),
		str("metrics", "", "serve Prometheus metrics on `ADDR`, e.g. 127.0.0.1:9619; \"\" off"),
		str("on-ban", "", "shell `COMMAND` run after each ban, with XDPBAN_IP, XDPBAN_BANTIME, XDPBAN_BANCOUNT, XDPBAN_MATCHES, ... in its environment"),
		str("on-unban", "", "shell `COMMAND` run after each unban"),
		str("log-level", "info", "`LEVEL` of the daemon's own log: debug (adds a line per ignored failure), info (a line per counted failure, ban and unban), warn or error"),
		str("sweep-interval", "1m", "how often (`TIME`) the map is swept of expired bans the jail does not know (made by xdpban ban without the daemon)"),
		// CrowdSec: decisions in (bouncer), jail bans out (watcher). The
		// filters carry the firewall bouncer's key names.
		str("crowdsec-url", "", "CrowdSec Local API `URL`, e.g. http://127.0.0.1:8080/; \"\" off"),
		str("crowdsec-bouncer-key-file", "", "`FILE` with this gateway's bouncer key (cscli bouncers add NAME; one key per gateway): enforce LAPI's decisions"),
		str("crowdsec-interval", "10s", "pull decisions this often (`TIME`; 1s suits HA pairs)"),
		str("crowdsec-machine", "", "machine `ID` (cscli machines add ID --password P): push jail bans to LAPI"),
		str("crowdsec-password-file", "", "`FILE` with the machine's password"),
		strs("crowdsec-supported-decisions-types", "decision `TYPE`s enforced (as the firewall bouncer's supported_decisions_types)", "ban"),
		strs("crowdsec-scopes", "decision `SCOPE`s enforced: ip, range (default both)"),
		strs("crowdsec-origins", "enforce only decisions of these `ORIGIN`s, e.g. crowdsec, cscli, CAPI (default all)"),
		strs("crowdsec-scenarios-containing", "enforce only decisions whose scenario contains one of these `WORD`s"),
		strs("crowdsec-scenarios-not-containing", "skip decisions whose scenario contains one of these `WORD`s"),
	}
}
