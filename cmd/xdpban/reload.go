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
			"applies: the jail (maxretry, findtime, bantime and its increment, ignoreip,\n" +
			"ignoreself; bans of newly ignored addresses are lifted), the hooks, --log-level,\n" +
			"the listener's certificate, key, CA, CRL and allow-lists (new paths too), its\n" +
			"backend, timeouts and handshake limits, and --ports (the XDP program is swapped\n" +
			"inside each link; no ban is lost). It then reloads the certificate files and\n" +
			"reopens the fail2ban log. Settings a running daemon cannot change (interfaces,\n" +
			"xdp-mode, ipv6-prefix, max-bans, the listen address, the files and directories\n" +
			"it owns, CrowdSec) are refused with one line naming the setting: restart to\n" +
			"apply them. A configuration that does not validate, or whose files do not load,\n" +
			"is refused whole, and the running one stays. Check one first with xdpban check.",
		Flags: []cli.Flag{configFlag(), controlSocketFlag()},
		Action: func(c *cli.Context) error {
			if err := applyConfigFile(c); err != nil {
				return err
			}
			if err := exactArgs(c, 0, "no arguments"); err != nil {
				return err
			}
			socket := c.String("control-socket")
			if _, up, err := askDaemon(socket, control.Request{Cmd: control.CmdReload}); err != nil {
				return err
			} else if !up {
				return fmt.Errorf("reload: no daemon listening on %s (start it: systemctl start xdpban)", socket)
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
