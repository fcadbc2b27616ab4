package crowdsec

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func serveOnce(t *testing.T, body func(w io.Writer)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != "k" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		body(w)
	}))
	t.Cleanup(srv.Close)
	return srv
}

const (
	delA = `{"duration":"-2s","id":1,"origin":"cscli","scenario":"s","scope":"Ip","type":"ban","value":"198.18.7.2"}`
	newA = `{"duration":"1h","id":2,"origin":"cscli","scenario":"s","scope":"Ip","type":"ban","value":"198.18.7.2"}`
	newB = `{"duration":"1h","id":3,"origin":"cscli","scenario":"s","scope":"Range","value":"::ffff:198.18.8.0/120","type":"ban"}`
)

// A snapshot also lists old deletions of an address banned anew: the ban
// must win, whichever list LAPI writes first.
func TestStreamDeletionsBeforeNew(t *testing.T) {
	for name, body := range map[string]string{
		"deleted first": `{"deleted":[` + delA + `],"new":[` + newA + `,` + newB + `]}`,
		"new first":     `{"new":[` + newA + `,` + newB + `],"deleted":[` + delA + `]}`,
	} {
		t.Run(name, func(t *testing.T) {
			srv := serveOnce(t, func(w io.Writer) { io.WriteString(w, body) })
			sink := newRecordSink()
			p, err := NewPuller(PullConfig{URL: srv.URL, Key: "k"}, sink)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.PullOnce(context.Background(), true); err != nil {
				t.Fatal(err)
			}
			got, calls := sink.snapshot()
			if _, ok := got[netip.MustParsePrefix("198.18.7.2/32")]; !ok {
				t.Errorf("the address banned anew was lifted; calls %v", calls)
			}
			if _, ok := got[netip.MustParsePrefix("198.18.8.0/24")]; !ok {
				t.Errorf("the IPv4-mapped range is not applied as 198.18.8.0/24; calls %v", calls)
			}
		})
	}
}

func TestStreamBadInput(t *testing.T) {
	for name, body := range map[string]string{
		"truncated":  `{"deleted":null,"new":[` + newA,
		"not a list": `{"new":{"a":1}}`,
		"not json":   `<html>`,
	} {
		t.Run(name, func(t *testing.T) {
			srv := serveOnce(t, func(w io.Writer) { io.WriteString(w, body) })
			p, _ := NewPuller(PullConfig{URL: srv.URL, Key: "k"}, newRecordSink())
			err := p.PullOnce(context.Background(), true)
			if err == nil || !strings.HasPrefix(err.Error(), "read decision stream") {
				t.Fatalf("error %v, want a read decision stream error", err)
			}
			if p.Stats().Reachable {
				t.Error("a broken answer counts as reachable")
			}
		})
	}
	// Decisions LAPI should never send are skipped one by one, not fatal.
	srv := serveOnce(t, func(w io.Writer) {
		io.WriteString(w, `{"new":[{"duration":"1h","scope":"Ip","type":"ban","value":"not-an-ip"},{"duration":"1d","scope":"Ip","type":"ban","value":"198.18.7.2"},`+newA+`]}`)
	})
	sink := newRecordSink()
	p, _ := NewPuller(PullConfig{URL: srv.URL, Key: "k"}, sink)
	if err := p.PullOnce(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if got, _ := sink.snapshot(); len(got) != 1 || p.Stats().Skipped[SkipInvalid] != 2 {
		t.Fatalf("applied %v, skipped %v; want one applied and two invalid", got, p.Stats().Skipped)
	}
	if _, err := NewPuller(PullConfig{URL: "127.0.0.1:8080", Key: "k"}, sink); err == nil {
		t.Error("a URL without scheme was accepted")
	}
	if _, err := NewPuller(PullConfig{URL: "http://127.0.0.1:8080/", Key: " \n"}, sink); err == nil {
		t.Error("an empty key was accepted")
	}
}

// blockingSink reports the first batch and then lets the server go on.
type blockingSink struct {
	recordSink
	first chan int
	max   int
}

func (s *blockingSink) ApplyDecisions(ctx context.Context, ds []Decision) error {
	s.max = max(s.max, len(ds))
	select {
	case s.first <- len(ds):
	default:
	}
	return nil
}

// The stream is decoded while it arrives, in batches: the first batch of a
// large snapshot reaches the sink before the server has written the rest,
// so memory does not grow with the size of the answer.
func TestStreamIsDecodedWhileItArrives(t *testing.T) {
	const total = 3 * batchSize
	sink := &blockingSink{first: make(chan int, 1)}
	firstSeen := make(chan struct{})
	srv := serveOnce(t, func(w io.Writer) {
		io.WriteString(w, `{"deleted":null,"new":[`)
		for i := range total {
			if i == batchSize+100 {
				w.(http.Flusher).Flush()
				select {
				case <-firstSeen:
				case <-time.After(30 * time.Second):
					return // the client waited for the whole body: the test fails below
				}
			}
			if i > 0 {
				io.WriteString(w, ",")
			}
			fmt.Fprintf(w, `{"duration":"1h","id":%d,"origin":"cscli","scenario":"s","scope":"Ip","type":"ban","value":"198.18.%d.%d"}`, i, i/256, i%256)
		}
		io.WriteString(w, `]}`)
	})
	go func() {
		<-sink.first
		close(firstSeen)
	}()
	p, _ := NewPuller(PullConfig{URL: srv.URL, Key: "k"}, sink)
	if err := p.PullOnce(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if n := p.Stats().Applied; n != total {
		t.Fatalf("applied %d of %d", n, total)
	}
	if sink.max > batchSize {
		t.Fatalf("a batch of %d, bound %d", sink.max, batchSize)
	}
}

// A LAPI that stops sending in the middle of an answer fails the pull
// (and the link retries) instead of stalling it.
func TestPullTimesOutOnAStalledAnswer(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	srv := serveOnce(t, func(w io.Writer) {
		io.WriteString(w, `{"deleted":null,"new":[`+newA)
		w.(http.Flusher).Flush()
		<-stop
	})
	p, _ := NewPuller(PullConfig{URL: srv.URL, Key: "k", Timeout: 200 * time.Millisecond}, newRecordSink())
	if err := p.PullOnce(context.Background(), true); err == nil {
		t.Fatal("a stalled answer did not fail the pull")
	}
	if p.Stats().Reachable {
		t.Error("a stalled answer counts as reachable")
	}
}

// With a Snapshot callback (the daemon's), a startup snapshot's deletions
// are not applied: the callback lifts what the snapshot did not renew, and
// a ban listed among old deletions is never lifted for a moment.
func TestSnapshotDeletionsLeftToReconcile(t *testing.T) {
	srv := serveOnce(t, func(w io.Writer) { io.WriteString(w, `{"deleted":[`+delA+`],"new":[`+newB+`]}`) })
	sink := newRecordSink()
	reconciled := 0
	p, _ := NewPuller(PullConfig{URL: srv.URL, Key: "k", Snapshot: func(context.Context, time.Time) error { reconciled++; return nil }}, sink)
	if err := p.PullOnce(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if _, calls := sink.snapshot(); len(calls) != 1 || calls[0] != "add 198.18.8.0/24" || reconciled != 1 {
		t.Errorf("snapshot calls %v, reconciled %d; want only the new decision, then the reconcile", calls, reconciled)
	}
	// In a delta the same deletion is applied.
	if err := p.PullOnce(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if _, calls := sink.snapshot(); len(calls) != 3 || calls[1] != "del 198.18.7.2/32" {
		t.Errorf("delta calls %v, want the deletion first", calls)
	}
}
