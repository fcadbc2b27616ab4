package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// manSection is where a daemon run by root belongs (/usr/sbin).
const manSection = 8

// manCommand prints the manual page generated from the command
// definitions, so the packaged page says what --help says. Hidden: it is
// for the package build (make deb), not for people.
func manCommand() *cli.Command {
	return &cli.Command{
		Name:   "man",
		Usage:  "print the manual page (roff) generated from these commands",
		Hidden: true,
		Action: func(c *cli.Context) error {
			if err := exactArgs(c, 0, "no arguments"); err != nil {
				return err
			}
			page, err := c.App.ToManWithSection(manSection)
			if err != nil {
				return fmt.Errorf("write manual page: %w", err)
			}
			_, err = fmt.Fprint(c.App.Writer, page)
			return err
		},
	}
}
