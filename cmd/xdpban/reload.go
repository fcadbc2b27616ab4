package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/control"
	"github.com/xdpban/xdpban/internal/daemon"
)

func reloadCommand() *cli.Command {
	return &cli.Command{
		Name:  "reload",
		Usage: "make the daemon re-read its configuration and apply it (as SIGHUP does)",
		Description: "The daemon reads its command line, XDPBAN_* and its --config file again and\n" +
			"applies the jail (maxretry, findtime, bantime and its increment, ignoreip,\n" +
			"ignoreself; bans of newly ignored addresses are lifted) and the hooks, then\n" +
			"reloads the certificates, CA bundle and CRL and reopens the fail2ban log.\n" +
			"Settings that a running daemon cannot change (interfaces, ports, ipv6-prefix,\n" +
			"the listener's address, files and limits, the paths it owns) are refused with\n" +
			"one line naming the setting: restart to apply them. A configuration that does\n" +
			"not validate is refused whole, and the running one stays. Check one first\n" +
			"with xdpban check.",
		Flags: []cli.Flag{configFlag(), controlSocketFlag()},
		Action: func(c *cli.Context) error {
			if err := applyConfigFile(c); err != nil {
				return err
			}
			if err := exactArgs(c, 0, "no arguments"); err != nil {
				return err
			}
			if _, err := control.Call(c.String("control-socket"), control.Request{Cmd: control.CmdReload}); err != nil {
				return err
			}
			fmt.Fprintln(c.App.Writer, "reloaded")
			return nil
		},
	}
}

// rereadOptions returns how a running daemon reads its configuration
// again: the command line it was started with, parsed as at start, with
// the environment and the --config file as they are now.
func rereadOptions(args []string) func() (daemon.Options, error) {
	return func() (daemon.Options, error) {
		var o daemon.Options
		cmd := &cli.Command{Name: "run", Flags: runFlags(), Action: func(c *cli.Context) error {
			if err := applyConfigFile(c); err != nil {
				return err
			}
			var err error
			o, err = optionsFromFlags(c)
			return err
		}}
		quietUsage(cmd)
		app := &cli.App{
			Name: "xdpban", Writer: io.Discard, ErrWriter: io.Discard,
			Commands:       []*cli.Command{cmd},
			ExitErrHandler: func(*cli.Context, error) {},
		}
		err := app.Run(flagsFirst(app, args))
		return o, err
	}
}
