package bench

import (
	"context"
	"regexp"
	"strconv"
	"strings"
)

const groupGo = "6. jail and state (Go benchmarks)"

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)(-\d+)?\s+\d+\s+(.+)$`)

// GoBenchmarks runs the jail and state Go benchmarks (figure 6) and
// records ns/op and each custom metric; B/op and allocs/op are left out.
func GoBenchmarks(ctx context.Context, r *Report) error {
	r.Progress("go test -bench for internal/jail and internal/state (about 20 s)")
	out, err := shOut(ctx, "", nil, "go", "test", "-run", "^$", "-bench", ".", "./internal/jail", "./internal/state")
	if err != nil {
		return err
	}
	pkg := ""
	for _, line := range strings.Split(out, "\n") {
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = p[strings.LastIndex(p, "/")+1:]
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		f := strings.Fields(m[3])
		for i := 0; i+1 < len(f); i += 2 {
			unit := f[i+1]
			if unit == "B/op" || unit == "allocs/op" {
				continue
			}
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			r.Add(Figure{Group: groupGo, Name: pkg + " Benchmark" + m[1], Value: v, Unit: unit})
		}
	}
	return nil
}
