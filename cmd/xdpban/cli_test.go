package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// runCLI runs the command line in-process and returns status and output.
func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(append([]string{"xdpban"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpOfEveryCommand(t *testing.T) {
	var check func(path []string, cmd *cli.Command)
	check = func(path []string, cmd *cli.Command) {
		path = append(path, cmd.Name)
		name := strings.Join(path, " ")
		code, out, errb := runCLI(append(path, "--help")...)
		if code != 0 || !strings.Contains(out, "xdpban "+name) || !strings.Contains(out, "USAGE") {
			t.Errorf("%s --help: exit %d\n%s%s", name, code, out, errb)
		}
		if cmd.Usage == "" {
			t.Errorf("%s has no usage line", name)
		}
		if bad := badPlaceholders(out); len(bad) > 0 {
			t.Errorf("%s --help: placeholders %q; want a word in capitals for each value (`WORD` in the usage)", name, bad)
		}
		if strings.Contains(out, "help, h") && len(cmd.Subcommands) == 0 {
			t.Errorf("%s --help lists a help subcommand it does not have:\n%s", name, out)
		}
		// `xdpban help CMD` shows the same page.
		if len(path) == 1 {
			if code, help, _ := runCLI("help", cmd.Name); code != 0 || !strings.Contains(help, "xdpban "+name) {
				t.Errorf("help %s: exit %d\n%s", name, code, help)
			}
		}
		for _, sub := range cmd.Subcommands {
			check(path, sub)
		}
	}
	for _, cmd := range newApp(nil, nil).Commands {
		if cmd.Name == "help" {
			continue // `help --help` is `help`: the list of commands
		}
		check(nil, cmd)
	}
}

// badPlaceholders returns the value placeholders of a help page's options
// that are not a word in capitals: urfave takes the first `quoted` word of
// a usage text as the placeholder, and "value" says nothing.
func badPlaceholders(help string) []string {
	var bad []string
	options := false
	for _, line := range strings.Split(help, "\n") {
		if strings.HasSuffix(line, "OPTIONS:") {
			options = true // the description above may start a line with a flag
			continue
		}
		line = strings.TrimSpace(line)
		if !options || !strings.HasPrefix(line, "-") {
			continue
		}
		left, _, _ := strings.Cut(line, "  ")
		for _, tok := range strings.Fields(left) {
			tok = strings.TrimSuffix(tok, ",")
			if strings.HasPrefix(tok, "-") || tok == "[" || tok == "]" {
				continue
			}
			if !placeholder.MatchString(tok) {
				bad = append(bad, tok)
			}
		}
	}
	return bad
}

var placeholder = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

func TestHelpAndVersionAtTheTop(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {}} {
		code, out, errb := runCLI(args...)
		if code != 0 || !strings.Contains(out, "COMMANDS") || !strings.Contains(out, "banned") {
			t.Errorf("xdpban %v: exit %d\n%s%s", args, code, out, errb)
		}
	}
	_, want, _ := runCLI("version")
	for _, flag := range []string{"--version", "-V"} {
		code, out, errb := runCLI(flag)
		if code != 0 || out != want {
			t.Errorf("xdpban %s: exit %d, %q%q; want %q as xdpban version prints", flag, code, out, errb, want)
		}
	}
}

// TestBadInput checks that every kind of bad input gives exactly one line
// that says what is wrong, and a non-zero exit.
func TestBadInput(t *testing.T) {
	tmp := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"ban", "1.2.3"}, "is not an IP address"},
		{[]string{"ban", "198.51.100.7", "--duration", "5x"}, "unknown unit"},
		{[]string{"ban", "198.51.100.7", "--duration", "0"}, "must not be 0"},
		{[]string{"ban", "198.51.100.7", "--duration", "2562047h47m"}, "longer than 100y"},
		{[]string{"ban", "198.51.100.7", "--duration", "-5"}, "only -1 (permanent)"},
		{[]string{"ban", "198.51.100.7", "--duration", "0.5"}, "under one second"},
		{[]string{"ban", "198.51.100.7", "--duration", "250ms"}, "unknown unit"},
		{[]string{"run", "--listen", "", "--iface", "lo", "--bantime", "2562047h47m"}, "bantime: parse duration \"2562047h47m\": longer than 100y"},
		{[]string{"run", "--listen", "", "--iface", "lo", "--bantime-maxtime", "-3"}, "bantime-maxtime"},
		{[]string{"run", "--listen", "", "--iface", "lo", "--findtime", "-1"}, "findtime"},
		{[]string{"run", "--listen", "", "--iface", "lo", "--sweep-interval", "0"}, "sweep-interval"},
		{[]string{"run", "--config", writeFile(t, "listen: \"\"\niface: [lo]\nbantime: 200y\n")}, "longer than 100y"},
		// The flag package's own word is only "parse error": the line names the value.
		{[]string{"check", "--config", writeFile(t, "maxretry: abc\n")}, `key "maxretry": invalid value "abc"`},
		{[]string{"run", "--config", writeFile(t, "ignoreself: maybe\n")}, `key "ignoreself": invalid value "maybe"`},
		{[]string{"ban"}, "expected one address"},
		{[]string{"unban", "example.org"}, "is not an IP address"},
		{[]string{"ban", "198.51.100.7", "--pin-dir", tmp}, "not on a bpf filesystem"},
		{[]string{"status", "--pin-dir", tmp}, "not on a bpf filesystem"},
		{[]string{"run", "--listen", "", "--iface", "xdpban-nosuch0", "--pin-dir", tmp, "--state-dir", tmp, "--control-socket", tmp + "/s"}, "interface not found"},
		{[]string{"run", "--listen", "", "--iface", "lo", "--pin-dir", tmp, "--state-dir", tmp, "--control-socket", tmp + "/s"}, "not on a bpf filesystem"},
		{[]string{"run", "--iface", "lo"}, "needs --cert, --key, --client-ca and --backend"},
		{[]string{"run", "--listen", "", "--iface", "lo", "--findtime", "10x"}, "findtime"},
		{[]string{"run", "--listen", "", "--iface", "lo", "--maxretry", "0"}, "maxretry"},
		// Terms that add up to zero: only -1 is permanent, so the hint says -1.
		{[]string{"run", "--listen", "", "--iface", "lo", "--bantime", "1w-1w"}, "bantime: must not be zero (use -1 for permanent)"},
		{[]string{"run", "--listen", "", "--iface", "lo", "--ignoreip", "10.0.0.x"}, "ignoreip"},
		{[]string{"run", "--listen", "", "--iface", "lo", "--fail2ban-log-time", "middle"}, "fail2ban-log-time"},
		{[]string{"run", "--listen", ""}, "iface"},
		{[]string{"run", "--log-only", "--listen", ""}, "log-only"},
		{[]string{"run", "--config", writeFile(t, "bogus-key: 1\n")}, `unknown key "bogus-key"`},
		{[]string{"run", "--config", writeFile(t, "maxretry: [1, 2]\n")}, `key "maxretry"`},
		{[]string{"run", "--config", writeFile(t, "listen: \"\"\niface: [lo]\nbantime: soon\n")}, "bantime"},
		{[]string{"run", "--config", writeFile(t, ": : :\n")}, "not valid YAML"},
		{[]string{"run", "--config", writeFile(t, "maxretry: 3\nmaxretry: 4\n")}, `not valid YAML: line 2: mapping key "maxretry" already defined at line 1`},
		{[]string{"reload", "--control-socket", tmp + "/none.sock"}, "reload: no daemon listening on " + tmp + "/none.sock (start it: systemctl start xdpban)"},
		{[]string{"run", "--config", tmp + "/missing.yaml"}, "no such file"},
		{[]string{"run", "--ports", "70000"}, "must be a number from 1 to 65535"},
		{[]string{"run", "--xdp-mode", "turbo"}, "use auto, native or generic"},
		{[]string{"run", "--max-bans", "0"}, "max-bans 0"},
		{[]string{"run", "--listen", "", "--iface", "lo", "--crowdsec-url", "http://127.0.0.1:8080/"}, "crowdsec-url: give --crowdsec-bouncer-key-file"},
		{[]string{"run", "--listen", "", "--iface", "lo", "--crowdsec-url", "127.0.0.1:8080", "--crowdsec-bouncer-key-file", "/k"}, `crowdsec-url: "127.0.0.1:8080" is not a Local API base URL`},
		{[]string{"run", "--listen", "", "--iface", "lo", "--crowdsec-machine", "gw1"}, "crowdsec-url"},
		{[]string{"run", "--listen", "", "--iface", "lo", "--crowdsec-url", "http://127.0.0.1:8080/", "--crowdsec-machine", "gw1"}, "crowdsec-machine: needs --crowdsec-password-file"},
		{[]string{"run", "--listen", "", "--iface", "lo", "--crowdsec-scopes", "country"}, "crowdsec-scopes"},
		{[]string{"run", "--listen", "", "--iface", "lo", "--crowdsec-interval", "0"}, "crowdsec-interval"},
		{[]string{"run", "--log-only", "--listen", "", "--watch-log", "/x.log", "--crowdsec-url", "http://127.0.0.1:8080/", "--crowdsec-machine", "gw1"}, "log-only mode bans nothing"},
		{[]string{"nosuchcommand"}, `unknown command "nosuchcommand"`},
		{[]string{"run", "--listen", "", "--iface", "lo", "--log-level", "loud"}, `log-level "loud": use debug, info, warn or error`},
		{[]string{"ban", "--bogus", "198.18.0.2"}, "flag provided but not defined: -bogus (see `xdpban ban --help`)"},
		{[]string{"status", "--bogus"}, "-bogus"},
		{[]string{"--bogus"}, "-bogus"},
		{[]string{"ignore", "add", "--bogus", "198.18.0.2"}, "-bogus"},
		{[]string{"ignore", "bogus"}, `unknown subcommand "bogus"`},
		{[]string{"ignore", "bogus", "--config", tmp + "/xdpban.yaml"}, `unknown subcommand "bogus"`},
		{[]string{"ignore", "add"}, "ignore add: expected one address or CIDR"},
		{[]string{"ignore", "add", "10.0.0.x"}, "is not one address or CIDR"},
		{[]string{"ban", "198.18.0.2", "1.2.3"}, `ban: "1.2.3" is not an IP address`},
		{[]string{"unban", "--all", "198.18.0.2"}, "no address with --all"},
		{[]string{"unban"}, "expected one address or more"},
		{[]string{"banned"}, "expected one address or more"},
		{[]string{"history"}, "expected one address"},
		{[]string{"history", "198.18.0.0/24"}, "is not an IP address"},
		{[]string{"status", "--config", writeFile(t, "bogus-key: 1\n")}, `unknown key "bogus-key"`},
		{[]string{"unban", "198.18.0.2", "--pin-dir", tmp, "--control-socket", tmp + "/s"}, "not on a bpf filesystem"},
		{[]string{"ban", "198.18.0.2", "--config", writeFile(t, "pin-dir: "+tmp+"\ncontrol-socket: "+tmp+"/s\n")}, "not on a bpf filesystem"},
	}
	for _, tt := range tests {
		code, _, errb := runCLI(tt.args...)
		if code == 0 {
			t.Errorf("%v: exit 0", tt.args)
		}
		if !strings.Contains(errb, tt.want) {
			t.Errorf("%v: stderr %q, want it to mention %q", tt.args, errb, tt.want)
		}
		if lines := strings.Count(strings.TrimRight(errb, "\n"), "\n"); lines != 0 {
			t.Errorf("%v: %d lines of error, want one:\n%s", tt.args, lines+1, errb)
		}
		if p := repeatedPrefix(errb); p != "" {
			t.Errorf("%v: %q repeats its prefix %q", tt.args, errb, p)
		}
	}
}

// repeatedPrefix returns a "verb object:" that occurs twice in msg
// ("ban X: ban X: ..."), or "".
func repeatedPrefix(msg string) string {
	seen := map[string]bool{}
	for _, part := range strings.Split(msg, ": ") {
		f := strings.Fields(part)
		if len(f) == 0 {
			continue
		}
		if len(f) > 2 {
			f = f[len(f)-2:] // "xdpban: ban X" → "ban X"
		}
		key := strings.Join(f, " ")
		if seen[key] {
			return key
		}
		seen[key] = true
	}
	return ""
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "xdpban.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFlagsAfterArguments(t *testing.T) {
	app := newApp(nil, nil)
	got := strings.Join(flagsFirst(app, []string{"xdpban", "ban", "192.0.2.7", "--duration", "-1", "--pin-dir=/x"}), " ")
	want := "xdpban ban --duration -1 --pin-dir=/x -- 192.0.2.7"
	if got != want {
		t.Errorf("flagsFirst = %q, want %q", got, want)
	}
	got = strings.Join(flagsFirst(app, []string{"xdpban", "ignore", "add", "198.18.0.0/24", "--state-dir", "/x"}), " ")
	if want := "xdpban ignore add --state-dir /x -- 198.18.0.0/24"; got != want {
		t.Errorf("flagsFirst = %q, want %q", got, want)
	}
	got = strings.Join(flagsFirst(app, []string{"xdpban", "status", "--json"}), " ")
	if got != "xdpban status --json" {
		t.Errorf("flagsFirst(status --json) = %q", got)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI("version")
	if code != 0 || !strings.HasPrefix(out, "xdpban ") {
		t.Errorf("version: %d %q", code, out)
	}
}
