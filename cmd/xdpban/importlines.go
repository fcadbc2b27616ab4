package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/xdpban/xdpban/internal/jail"
	"github.com/xdpban/xdpban/internal/xdp"
)

// parallelFrom is the size of input from which the lines are parsed on
// every CPU at once: decoding JSON is the larger part of a big import.
const parallelFrom = 1 << 20

// readBanLines reads the JSON lines of xdpban export from path (stdin
// for -), all of them before anything is banned, naming the line of the
// first bad one.
func readBanLines(path string, stdin io.Reader) ([]jail.Ban, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	parts := splitLines(data, runtime.GOMAXPROCS(0))
	type result struct {
		bans []jail.Ban
		err  error
	}
	results := make([]result, len(parts))
	var wg sync.WaitGroup
	line := 1
	for i, part := range parts {
		first := line
		line += bytes.Count(part, []byte{'\n'})
		wg.Go(func() {
			results[i].bans, results[i].err = parseBanLines(path, part, first)
		})
	}
	wg.Wait()
	n := 0
	for _, r := range results {
		if r.err != nil {
			return nil, r.err // the parts are in order: the first bad line
		}
		n += len(r.bans)
	}
	out := make([]jail.Ban, 0, n)
	for _, r := range results {
		out = append(out, r.bans...)
	}
	return out, nil
}

// splitLines cuts data into at most n parts of whole lines.
func splitLines(data []byte, n int) [][]byte {
	if len(data) < parallelFrom || n < 2 {
		return [][]byte{data}
	}
	var parts [][]byte
	for size := len(data)/n + 1; len(data) > 0; {
		cut := min(size, len(data))
		if i := bytes.IndexByte(data[cut:], '\n'); i >= 0 {
			cut += i + 1
		} else {
			cut = len(data)
		}
		parts = append(parts, data[:cut])
		data = data[cut:]
	}
	return parts
}

// parseBanLines parses the lines of data, the first of which is line
// first of path.
func parseBanLines(path string, data []byte, first int) ([]jail.Ban, error) {
	out := make([]jail.Ban, 0, bytes.Count(data, []byte{'\n'})+1)
	for line := first; len(data) > 0; line++ {
		text := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			text, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		text = bytes.TrimSuffix(text, []byte{'\r'})
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		b, err := parseBanLine(text)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		out = append(out, b)
	}
	return out, nil
}

func parseBanLine(text []byte) (jail.Ban, error) {
	var l banLine
	if err := json.Unmarshal(text, &l); err != nil {
		return jail.Ban{}, err
	}
	p, err := xdp.ParseTarget(l.Address)
	if err != nil {
		return jail.Ban{}, err
	}
	b := jail.Ban{Prefix: p, Origin: jail.Origin(l.Origin), Count: l.BanCount}
	if l.Start != nil {
		b.Start = *l.Start
	}
	switch {
	case l.End != nil:
		b.End = *l.End
	case !l.Permanent:
		return jail.Ban{}, fmt.Errorf("no end and not \"permanent\": true")
	}
	if b.Origin == "pinned" || b.Origin == "restored" {
		b.Origin = "imported" // it says where export found it, not who made it
	}
	return b, nil
}
