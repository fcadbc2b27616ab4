package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

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
