// Command xdpbench measures xdpban against nftables, iptables and fail2ban's
// way of banning on this machine, prints a table and writes the figures as
// JSON. It needs root; see `make bench`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/xdpban/xdpban/cmd/xdpbench/internal/bench"
)

func main() {
	if bench.RunHelper() {
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "xdpbench:", err)
		os.Exit(1)
	}
}

func run() error {
	jsonPath := flag.String("json", envOr("BENCH_JSON", "bench/results.json"), "where to write the figures as JSON")
	only := flag.String("only", "", "comma-separated figures to run: perpkt (with range bans),flood,botnet (1M bans, 100k sources, 1 and 2 CPUs),banlat,apply,listener,partner,handshake,watchmem,gotest (default all)")
	rounds := flag.Int("rounds", 3, "interleaved rounds of the namespace floods (flood, botnet)")
	docPath := flag.String("doc", "docs/performance.md", "where to write the figures as Markdown, with the method")
	readmePath := flag.String("readme", "README.md", "whose Performance table (between <!-- bench:begin --> and <!-- bench:end -->) to rewrite")
	plotOnly := flag.Bool("plot", false, "only draw the PNG and write the Markdown and the README table from the JSON of an earlier run (no root needed)")
	flag.Parse()
	pngPath := strings.TrimSuffix(*jsonPath, ".json") + ".png"
	if *plotOnly {
		if err := bench.Plot(*jsonPath, pngPath); err != nil {
			return err
		}
		fmt.Printf("wrote %s\n", pngPath)
		if err := bench.Markdown(*jsonPath, *docPath); err != nil {
			return err
		}
		fmt.Printf("wrote %s\n", *docPath)
		if err := bench.Readme(*jsonPath, *readmePath); err != nil {
			return err
		}
		fmt.Printf("updated %s\n", *readmePath)
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root (BPF, network namespaces, nftables, iptables): run `make bench` as root")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench.Sweep(); err != nil {
		return fmt.Errorf("remove leftovers of an earlier run: %w", err)
	}
	defer bench.Sweep()

	want := func(name string) bool {
		if *only == "" {
			return true
		}
		for _, s := range strings.Split(*only, ",") {
			if strings.TrimSpace(s) == name {
				return true
			}
		}
		return false
	}
	r := bench.NewReport(os.Stdout)
	steps := []struct {
		name string
		f    func(context.Context, *bench.Report) error
	}{
		{"perpkt", func(ctx context.Context, r *bench.Report) error {
			if err := bench.PerPacket(ctx, r); err != nil {
				return err
			}
			return bench.RangeMiss(ctx, r)
		}},
		{"flood", func(ctx context.Context, r *bench.Report) error { return bench.Flood(ctx, r, *rounds) }},
		{"botnet", func(ctx context.Context, r *bench.Report) error { return bench.Botnet(ctx, r, *rounds) }},
		{"banlat", bench.BanLatency},
		{"apply", bench.Apply},
		{"listener", bench.Listener},
		{"partner", bench.PartnerUnderFlood},
		{"handshake", bench.HandshakeFlood},
		{"watchmem", bench.WatchMemory},

		{"gotest", bench.GoBenchmarks},
	}
	var failed []string
	for _, s := range steps {
		if !want(s.name) {
			continue
		}
		r.Progress("== %s", s.name)
		if err := s.f(ctx, r); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted during %s", s.name)
			}
			r.Note("%s failed: %v", s.name, err)
			failed = append(failed, s.name)
		}
	}
	r.Table(os.Stdout)
	if err := r.WriteJSON(*jsonPath); err != nil {
		return err
	}
	fmt.Printf("\nwrote %s\n", *jsonPath)
	if err := bench.Markdown(*jsonPath, *docPath); err != nil {
		r.Note("%v", err)
	} else {
		fmt.Printf("wrote %s\n", *docPath)
	}
	if err := bench.Readme(*jsonPath, *readmePath); err != nil {
		r.Note("%v", err)
	} else {
		fmt.Printf("updated %s\n", *readmePath)
	}
	if err := bench.Plot(*jsonPath, pngPath); err != nil {
		r.Note("%v", err)
	} else {
		fmt.Printf("wrote %s\n", pngPath)
	}
	if len(failed) > 0 {
		return fmt.Errorf("failed: %s", strings.Join(failed, ", "))
	}
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
