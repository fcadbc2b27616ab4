// Command xdpban bans the sources of failed TLS handshakes with XDP.
//
// Read-only commands (status, version) never change state; verb commands
// (run, ban, unban, detach) do. Every command takes its output streams
// from newApp, so tests can run it in-process and read what it printed.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit status. Errors are
// printed once, here, as one line.
func run(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	// run keeps its command line, to read it again on reload.
	app.Metadata = map[string]any{"args": args}
	if err := app.Run(flagsFirst(app, args)); err != nil {
		var q quietExit
		if errors.As(err, &q) {
			return int(q)
		}
		fmt.Fprintf(stderr, "xdpban: %v\n", err)
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

// exitError is an error with an exit status other than 1: status exits 2
// when its report is complete but says enforcement is not in force.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }
