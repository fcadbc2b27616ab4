package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// helpCommand is `xdpban help [COMMAND]`. urfave's own help command is a
// single value shared by every app in the process, and running it once
// makes it its own subcommand; a process that had run `help` then
// generated the man page by recursing through that loop until memory ran
// out. This one is made per app, and has no subcommands to loop through.
func helpCommand() *cli.Command {
	return &cli.Command{
		Name:      "help",
		Aliases:   []string{"h"},
		Usage:     "show the commands, or the help of one",
		ArgsUsage: "[COMMAND]",
		Action: func(c *cli.Context) error {
			// The app's context: COMMAND is one of its commands.
			app := c.Lineage()[1]
			if c.NArg() == 0 {
				return cli.ShowAppHelp(app)
			}
			name := c.Args().First()
			if c.App.Command(name) == nil {
				return fmt.Errorf("help %s: no such command (see `xdpban help`)", name)
			}
			return cli.ShowCommandHelp(app, name)
		},
	}
}
