package main

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/xdp"
)

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:  "xdpban",
		Usage: "ban the sources of failed TLS handshakes at the NIC with XDP",
		Description: "xdpban fronts a TLS service that requires client certificates (OFTP2 on port\n" +
			"6619 by default), writes each failed handshake to a fail2ban-format log as OS4X\n" +
			"does, and bans repeat offenders in a BPF map that an XDP program enforces.\n" +
			"`xdpban help COMMAND` (or `xdpban COMMAND --help`) explains each command.",
		Writer:    stdout,
		ErrWriter: stderr,
		// urfave's own --version prints a different line than `xdpban
		// version`; ours prints the same one.
		HideVersion: true,
		// The bash and zsh completion scripts of the package ask the
		// binary (`xdpban ban --generate-bash-completion`), so they follow
		// the commands and flags without being regenerated.
		EnableBashCompletion: true,
		Flags: []cli.Flag{
			// urfave adds its --help only when it adds its help command.
			cli.HelpFlag,
			&cli.BoolFlag{Name: "version", Aliases: []string{"V"}, Usage: "print the version, as xdpban version does"},
		},
		Action: func(c *cli.Context) error {
			switch {
			case c.Bool("version"):
				printVersion(c.App.Writer)
				return nil
			case c.NArg() > 0:
				return fmt.Errorf("unknown command %q (see `xdpban help`)", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		OnUsageError: usageFailed,
		// Errors are printed once by run(); urfave must not print them again.
		ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{
			runCommand(),
			checkCommand(),
			reloadCommand(),
			statusCommand(),
			bannedCommand(),
			historyCommand(),
			banCommand(),
			unbanCommand(),
			ignoreCommand(),
			exportCommand(),
			importCommand(),
			detachCommand(),
			versionCommand(),
			manCommand(),
			helpCommand(),
		},
	}
	for _, cmd := range app.Commands {
		quietUsage(cmd)
	}
	return app
}

// quietUsage makes a command, and its subcommands, answer a bad flag with
// one line instead of the whole help text, and keeps urfave's "help"
// subcommand out of commands that have no subcommands of their own.
func quietUsage(cmd *cli.Command) {
	cmd.OnUsageError = usageFailed
	cmd.HideHelpCommand = true
	for _, sub := range cmd.Subcommands {
		quietUsage(sub)
	}
}

// usageFailed turns a flag parsing error into the one line main prints.
func usageFailed(c *cli.Context, err error, _ bool) error {
	name := "xdpban"
	if p := cmdPath(c); p != "" {
		name += " " + p
	}
	return fmt.Errorf("%v (see `%s --help`)", err, name)
}

// cmdPath names the command of c as typed: "ban", "ignore add".
func cmdPath(c *cli.Context) string {
	var names []string
	for _, x := range c.Lineage() {
		if x.Command != nil && x.Command.Name != "" && x.Command.Name != c.App.Name {
			names = append([]string{x.Command.Name}, names...)
		}
	}
	return strings.Join(slices.Compact(names), " ")
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
		return usageError{cmd: cmdPath(c), what: what}
	}
	return nil
}

type usageError struct{ cmd, what string }

func (e usageError) Error() string {
	return e.cmd + ": expected " + e.what + " (see `xdpban " + e.cmd + " --help`)"
}

// targetArgs reads the ADDR[/PREFIX] arguments of ban, unban and banned.
// Every one is checked before anything changes, so a typo in the third of
// five addresses bans none.
func targetArgs(c *cli.Context) ([]netip.Prefix, error) {
	if c.NArg() == 0 {
		return nil, usageError{cmd: cmdPath(c), what: "one address or more"}
	}
	out := make([]netip.Prefix, 0, c.NArg())
	for _, s := range c.Args().Slice() {
		p, err := xdp.ParseTarget(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cmdPath(c), err)
		}
		out = append(out, p)
	}
	return out, nil
}
