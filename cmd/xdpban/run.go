package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
	"github.com/xdpban/xdpban/internal/daemon"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "run the daemon: TLS listener, fail2ban log, jail and XDP enforcement",
		Description: "Accepts TLS on --listen and forwards partners with a valid client certificate\n" +
			"to --backend; writes every failed handshake to --fail2ban-log as OS4X does; bans\n" +
			"sources with fail2ban's rules (maxretry, findtime, bantime, ...) in a pinned BPF\n" +
			"map that the XDP program on every --iface enforces. --watch-log adds other logs\n" +
			"as sources; --log-only writes the log and leaves banning to stock fail2ban.\n\n" +
			"Bans outlive the daemon: the pinned program keeps dropping and expiring them,\n" +
			"and a restart picks them up. SIGHUP (or xdpban reload) re-reads the\n" +
			"configuration and applies it, reloads certificates and reopens the log;\n" +
			"SIGTERM drains and stops. Every flag also reads XDPBAN_<FLAG> (--max-bans:\n" +
			"XDPBAN_MAX_BANS) and the key of the same name in the --config YAML file.",
		Flags: runFlags(),
		Action: func(c *cli.Context) error {
			if err := exactArgs(c, 0, "no arguments"); err != nil {
				return err
			}
			if err := applyConfigFile(c); err != nil {
				return err
			}
			o, err := optionsFromFlags(c)
			if err != nil {
				return err
			}
			o.Version = version
			if args, ok := c.App.Metadata["args"].([]string); ok {
				o.Reread = rereadOptions(args)
			}
			ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			o.Level = new(slog.LevelVar)
			o.Level.Set(o.LogLevel)
			log := newLogger(c.App.ErrWriter, o.Level, c.App.ErrWriter == os.Stderr && stderrIsJournal())
			return daemon.Run(ctx, o, log)
		},
	}
}
