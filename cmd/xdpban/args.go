package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// flagsFirst moves a subcommand's flags in front of its positional
// arguments. urfave/cli v2 stops reading flags at the first positional
// argument, but people (and fail2ban actions) write
// `xdpban ban 192.0.2.7 --duration 1h`; without this, --duration would be
// taken for a second address.
const completionFlag = "--generate-bash-completion"

func flagsFirst(app *cli.App, args []string) []string {
	// A completion request must stay last, and urfave ignores one after "--".
	if len(args) < 3 || args[len(args)-1] == completionFlag {
		return args
	}
	cmd := app.Command(args[1])
	if cmd == nil {
		return args
	}
	// Subcommands (ignore add) take their own flags.
	head := 2
	for head < len(args) {
		sub := cmd.Command(args[head])
		if sub == nil {
			break
		}
		cmd = sub
		head++
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	var flags, positional []string
	rest := args[head:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			positional = append(positional, rest[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		flags = append(flags, a)
		if takesValue[name] && !hasValue && i+1 < len(rest) {
			flags = append(flags, rest[i+1])
			i++
		}
	}
	out := append(append([]string{}, args[:head]...), flags...)
	if len(positional) > 0 {
		out = append(out, "--")
		out = append(out, positional...)
	}
	return out
}
