package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/daemon"
)

// TestShippedConfigLoads reads deploy/xdpban.yaml through the same loader
// and option parsing as `xdpban run`, so the example cannot drift from the
// flags (the loader rejects unknown keys).
func TestShippedConfigLoads(t *testing.T) {
	var got daemon.Options
	app := newApp(&bytes.Buffer{}, &bytes.Buffer{})
	run := app.Command("run")
	run.Action = func(c *cli.Context) error {
		if err := applyConfigFile(c); err != nil {
			return err
		}
		o, err := optionsFromFlags(c)
		got = o
		return err
	}
	if err := app.Run([]string{"xdpban", "run", "--config", "../../deploy/xdpban.yaml"}); err != nil {
		t.Fatalf("deploy/xdpban.yaml: %v", err)
	}
	if got.Listener == nil || got.Listener.ListenAddr == "" || len(got.Datapath.Interfaces) == 0 || got.Jail.MaxRetry != 3 {
		t.Errorf("options from the shipped config look empty: %+v", got)
	}
	// The command line wins over the file.
	if err := app.Run([]string{"xdpban", "run", "--config", "../../deploy/xdpban.yaml", "--maxretry", "7"}); err != nil {
		t.Fatal(err)
	}
	if got.Jail.MaxRetry != 7 {
		t.Errorf("--maxretry 7 on the command line gave %d: the file must not win", got.Jail.MaxRetry)
	}
	// So does the environment.
	t.Setenv("XDPBAN_MAXRETRY", "5")
	app = newApp(&bytes.Buffer{}, &bytes.Buffer{})
	app.Command("run").Action = run.Action
	if err := app.Run([]string{"xdpban", "run", "--config", "../../deploy/xdpban.yaml"}); err != nil {
		t.Fatal(err)
	}
	if got.Jail.MaxRetry != 5 {
		t.Errorf("XDPBAN_MAXRETRY=5 gave %d: the file must not win", got.Jail.MaxRetry)
	}
}

// TestExampleConfigHasEveryFlag: deploy/xdpban.yaml shows every flag of
// `xdpban run` as a key (the flags are the contract; --config is the one
// that cannot be a key), each after a comment, repeatable ones as lists.
// A new flag without its example key fails here.
func TestExampleConfigHasEveryFlag(t *testing.T) {
	const example = "../../deploy/xdpban.yaml"
	raw, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{} // key -> value on its line
	commented := map[string]bool{}
	prevComment := false
	for _, line := range strings.Split(string(raw), "\n") {
		switch {
		case strings.HasPrefix(line, "#"):
			prevComment = true
		case line == "":
			prevComment = false
		case strings.HasPrefix(line, " "): // a list item of the key above
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				t.Fatalf("%s: not a key: %q", example, line)
			}
			if _, dup := keys[k]; dup {
				t.Errorf("%s: key %q twice", example, k)
			}
			keys[k] = strings.TrimSpace(v)
			// A comment covers the keys right after it (cert, key), so
			// prevComment stays set until a blank line.
			commented[k] = prevComment
		}
	}
	if _, ok := keys["config"]; ok {
		t.Errorf("%s: key config is a flag only", example)
	}
	for _, f := range runFlags() {
		k := f.Names()[0]
		if k == "config" {
			continue
		}
		v, ok := keys[k]
		if !ok {
			t.Errorf("%s: no key for --%s", example, k)
			continue
		}
		if !commented[k] {
			t.Errorf("%s: key %q has no comment above it", example, k)
		}
		if _, repeatable := f.(*cli.StringSliceFlag); repeatable && v != "" && v != "[]" {
			t.Errorf("%s: repeatable key %q is not a YAML list", example, k)
		}
	}
}

// TestDurationsInFail2bansForms: flags, the environment and the config
// file all read durations with the one parser, fail2ban's units included.
func TestDurationsInFail2bansForms(t *testing.T) {
	var got daemon.Options
	app := newApp(&bytes.Buffer{}, &bytes.Buffer{})
	action := func(c *cli.Context) error {
		if err := applyConfigFile(c); err != nil {
			return err
		}
		o, err := optionsFromFlags(c)
		got = o
		return err
	}
	app.Command("run").Action = action
	conf := writeFile(t, "listen: \"\"\niface: [lo]\nfindtime: 1h30m\ndbpurgeage: 2w\n")
	t.Setenv("XDPBAN_BANTIME_MAXTIME", "1y")
	if err := app.Run([]string{"xdpban", "run", "--config", conf, "--bantime", "1mo", "--sweep-interval", "1d12h"}); err != nil {
		t.Fatal(err)
	}
	const day = 24 * time.Hour
	year := time.Duration(365.25 * float64(day))
	j := got.Jail
	if j.BanTime != year/12 || j.FindTime != 90*time.Minute || j.DBPurgeAge != 14*day || j.MaxTime != year ||
		got.Datapath.SweepInterval != 36*time.Hour {
		t.Errorf("bantime %v findtime %v dbpurgeage %v maxtime %v sweep %v", j.BanTime, j.FindTime, j.DBPurgeAge, j.MaxTime, got.Datapath.SweepInterval)
	}
	if err := app.Run([]string{"xdpban", "run", "--listen", "", "--iface", "lo", "--bantime", "-1"}); err != nil || got.Jail.BanTime >= 0 {
		t.Errorf("--bantime -1: %v, %v; want permanent", got.Jail.BanTime, err)
	}
}
