package main

import (
	"fmt"
	"io"
	"net/netip"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/xdp"
)

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:  "xdpban",
		Usage: "ban the sources of failed TLS handshakes at the NIC with XDP",
		Description: "xdpban fronts a TLS service that requires client certificates (OFTP2 on port\n" +
			"6619 by default), writes each failed handshake to a fail2ban-format log as OS4X\n" +
			"does, and bans repeat offenders in a BPF map that an XDP program enforces.",
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		// The bash and zsh completion scripts of the package ask the
		// binary (`xdpban ban --generate-bash-completion`), so they follow
		// the commands and flags without being regenerated.
		EnableBashCompletion: true,
		// Errors are printed once by run(); urfave must not print them again.
		ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{
			runCommand(),
			statusCommand(),
			banCommand(),
			unbanCommand(),
			detachCommand(),
			versionCommand(),
			manCommand(),
		},
	}
}

func pinDirFlag() *cli.StringFlag {
	return &cli.StringFlag{
		Name:    "pin-dir",
		Usage:   "bpffs `DIR` holding xdpban's pinned maps and links",
		Value:   xdp.DefaultPinDir,
		EnvVars: []string{"XDPBAN_PIN_DIR"},
	}
}

// exactArgs checks the positional arguments of a command.
func exactArgs(c *cli.Context, n int, what string) error {
	if c.NArg() != n {
		return usageError{cmd: c.Command.Name, what: what}
	}
	return nil
}

type usageError struct{ cmd, what string }

func (e usageError) Error() string {
	return e.cmd + ": expected " + e.what + " (see `xdpban " + e.cmd + " --help`)"
}

// targetArg reads the one ADDR[/PREFIX] argument of ban and unban.
func targetArg(c *cli.Context) (netip.Prefix, error) {
	if err := exactArgs(c, 1, "one address"); err != nil {
		return netip.Prefix{}, err
	}
	p, err := xdp.ParseTarget(c.Args().First())
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%s: %w", c.Command.Name, err)
	}
	return p, nil
}
