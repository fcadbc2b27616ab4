package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestEveryPinDirCommandTakesConfig: the README promises that every command
// that looks at or changes bans reads pin-dir from run's --config file;
// detach once took only --pin-dir, so a site with a non-default pin dir in
// its config detached the default one.
func TestEveryPinDirCommandTakesConfig(t *testing.T) {
	var check func(path []string, cmd *cli.Command)
	check = func(path []string, cmd *cli.Command) {
		path = append(path, cmd.Name)
		var pinDir, config bool
		for _, f := range cmd.Flags {
			pinDir = pinDir || f.Names()[0] == "pin-dir"
			config = config || f.Names()[0] == "config"
		}
		if pinDir && !config {
			t.Errorf("xdpban %s has --pin-dir but no --config", strings.Join(path, " "))
		}
		for _, sub := range cmd.Subcommands {
			check(path, sub)
		}
	}
	for _, cmd := range newApp(nil, nil).Commands {
		check(nil, cmd)
	}
}

// TestDetachReadsPinDirFromConfig: detach takes pin-dir from the file and
// leaves its iface list alone (an iface would narrow detach to one link, and
// run's list is not one value).
func TestDetachReadsPinDirFromConfig(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: detach checks its capabilities first")
	}
	pins := t.TempDir() // not bpffs: detach must name it and stop
	cfg := filepath.Join(t.TempDir(), "xdpban.yaml")
	if err := os.WriteFile(cfg, []byte("iface: [eth0, eth1]\npin-dir: "+pins+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errb := runCLI("detach", "--config", cfg)
	if code != 1 || !strings.Contains(errb, "pin directory "+pins+": not on a bpf filesystem") {
		t.Fatalf("detach --config: exit %d, stdout %q, stderr %q; want the config's pin dir refused", code, out, errb)
	}
	if n := strings.Count(strings.TrimSpace(errb), "\n"); n != 0 {
		t.Errorf("detach --config: %d lines on stderr, want one: %q", n+1, errb)
	}
	// The command line still wins over the file.
	other := t.TempDir()
	if code, _, errb := runCLI("detach", "--config", cfg, "--pin-dir", other); code != 1 || !strings.Contains(errb, other) {
		t.Errorf("detach --config --pin-dir: exit %d, stderr %q; want %s named", code, errb, other)
	}
}
