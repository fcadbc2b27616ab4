package crowdsec

import (
	"bytes"
	"context"
	"testing"
)

// checkSink fails the fuzz run on anything the decoder must never hand
// over: an invalid prefix, or a decision outside the filter.
type checkSink struct{ t *testing.T }

func (s checkSink) check(ds []Decision) {
	for _, d := range ds {
		if !d.Prefix.IsValid() || d.Prefix != d.Prefix.Masked() {
			s.t.Fatalf("decoder handed over %+v", d)
		}
		if a := d.Prefix.Addr(); a.Is4In6() && d.Prefix.Bits() >= 96 {
			s.t.Fatalf("decoder handed over an IPv4-mapped prefix: %+v", d)
		}
		if !containsFold([]string{"ban"}, d.Type) {
			s.t.Fatalf("decoder handed over type %q", d.Type)
		}
	}
}

func (s checkSink) ApplyDecisions(_ context.Context, ds []Decision) error  { s.check(ds); return nil }
func (s checkSink) DeleteDecisions(_ context.Context, ds []Decision) error { s.check(ds); return nil }

// FuzzDecodeStream: whatever LAPI (or something in its place) answers,
// the decoder returns an error or hands over valid, filtered decisions;
// it never panics.
func FuzzDecodeStream(f *testing.F) {
	for _, s := range []string{
		`{"deleted":[` + delA + `],"new":[` + newA + `,` + newB + `]}`,
		`{"new":null,"deleted":null}`,
		`{"new":[{"duration":"1h","scope":"Range","type":"ban","value":"::ffff:0.0.0.0/0"}]}`,
		`{"new":[{"duration":"-1h","scope":"Ip","type":"ban","value":"fe80::1%eth0"}]}`,
		`{"x":{"y":[1,2,3]},"new":[]}`,
		`[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := NewPuller(PullConfig{URL: "http://127.0.0.1:1/", Key: "k"}, checkSink{t})
		if err != nil {
			t.Fatal(err)
		}
		_ = p.decodeStream(context.Background(), bytes.NewReader(body), false)
	})
}
