package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/daemon"
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "validate the configuration as run would, and start nothing",
		Description: "Reads --config, the flags and XDPBAN_* as run does, and checks what run would\n" +
			"meet on start: every value, the certificate and key (they parse and match),\n" +
			"the client CA bundle and CRL, the interfaces, the privileges and the bpf\n" +
			"filesystem, the directories it writes. One line per problem on stderr and exit\n" +
			"status 1 if there is any; \"configuration ok\" and 0 otherwise. Like\n" +
			"fail2ban-client -t, it changes nothing, also while the daemon runs.",
		Flags: runFlags(),
		Action: func(c *cli.Context) error {
			if err := exactArgs(c, 0, "no arguments"); err != nil {
				return err
			}
			errs, err := checkConfig(c)
			if err != nil {
				return err
			}
			for _, e := range errs {
				fmt.Fprintf(c.App.ErrWriter, "xdpban: check: %v\n", e)
			}
			if len(errs) > 0 {
				return quietExit(1)
			}
			fmt.Fprintln(c.App.Writer, "configuration ok")
			return nil
		},
	}
}

// checkConfig is run's reading of the configuration followed by the
// daemon's preflight; it returns the problems found, or an error when
// the configuration cannot be read at all.
func checkConfig(c *cli.Context) ([]error, error) {
	if err := applyConfigFile(c); err != nil {
		return nil, err
	}
	o, err := optionsFromFlags(c)
	if err != nil {
		return nil, err
	}
	return daemon.Preflight(o), nil
}
