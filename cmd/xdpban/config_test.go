package main

import (
	"bytes"
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
