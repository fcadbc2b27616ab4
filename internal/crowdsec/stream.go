package crowdsec

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
)

// batchSize bounds how many decisions are held at once: the sink inserts
// them in batches, and memory stays the same for any snapshot size.
const batchSize = 4096

// Sink receives the decisions the stream carries, filtered. Within one
// response every deletion reaches the sink before any new decision: a
// startup snapshot also lists old deletions of addresses banned anew.
type Sink interface {
	// DeleteDecisions lifts deleted decisions (unless the jail or an
	// operator banned the same address: the sink knows).
	DeleteDecisions(ctx context.Context, ds []Decision) error
	// ApplyDecisions bans for each decision's remaining Duration.
	ApplyDecisions(ctx context.Context, ds []Decision) error
}

// decodeStream reads one response of /v1/decisions/stream,
// {"deleted":[...],"new":[...]} (either may be null), one decision at a
// time, and hands them to the sink in batches.
func (p *Puller) decodeStream(ctx context.Context, r io.Reader, ignoreDeletions bool) error {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	// LAPI writes "deleted" first. Should a server write "new" first, a
	// later deletion of an address it banned anew must not lift that ban:
	// the values banned in this response are remembered only then.
	var bannedHere map[netip.Prefix]bool
	sawDeleted := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("read decision stream: %w", err)
		}
		switch tok {
		case "deleted":
			sawDeleted = true
			err = p.decodeList(ctx, dec, true, func(d *Decision) bool { return !ignoreDeletions && !bannedHere[d.Prefix] })
		case "new":
			err = p.decodeList(ctx, dec, false, func(d *Decision) bool {
				if !sawDeleted {
					if bannedHere == nil {
						bannedHere = map[netip.Prefix]bool{}
					}
					bannedHere[d.Prefix] = true
				}
				return true
			})
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return err
		}
	}
	return expectDelim(dec, '}')
}

// decodeList reads a JSON array (or null) of decisions.
func (p *Puller) decodeList(ctx context.Context, dec *json.Decoder, deleted bool, keep func(*Decision) bool) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("read decision stream: %w", err)
	}
	if tok == nil {
		return nil
	}
	if tok != json.Delim('[') {
		return fmt.Errorf("read decision stream: want a list, got %v", tok)
	}
	batch := make([]Decision, 0, batchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var err error
		if deleted {
			err = p.sink.DeleteDecisions(ctx, batch)
			p.stats.deleted.Add(uint64(len(batch)))
		} else {
			err = p.sink.ApplyDecisions(ctx, batch)
			p.stats.applied.Add(uint64(len(batch)))
		}
		batch = batch[:0]
		return err
	}
	var w wireDecision
	for dec.More() {
		w = wireDecision{}
		if err := dec.Decode(&w); err != nil {
			return fmt.Errorf("read decision stream: %w", err)
		}
		d, err := w.decision()
		if err != nil {
			p.skip(SkipInvalid, deleted)
			p.logf("skip a decision LAPI sent: %v", err)
			continue
		}
		if reason := p.filter.skip(&d); reason != "" {
			p.skip(reason, deleted)
			continue
		}
		if !keep(&d) {
			continue
		}
		batch = append(batch, d)
		if len(batch) == batchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return expectDelim(dec, ']')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("read decision stream: %w", err)
	}
	if tok != want {
		return fmt.Errorf("read decision stream: want %v, got %v", want, tok)
	}
	return nil
}
