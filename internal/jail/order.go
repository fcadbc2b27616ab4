package jail

import (
	"net/netip"
	"sync"
)

// The jail decides under its lock and acts outside it. Each decision
// draws a turn under the lock; its actions then run in two stages, each
// in the order of the turns: the enforcer (the map write, which the ban
// latency is made of) and then the history and hooks (the store's write
// and fsync, notifications). So a slow store write or hook holds up
// neither failure counting nor other bans' map writes, and every stage
// still sees the bans and unbans of a prefix in the order the jail made
// them: an unban decided after a ban never overtakes it in the map.

// sequence lets steps run one at a time in ticket order.
type sequence struct {
	mu      sync.Mutex
	cond    sync.Cond
	next    uint64 // the ticket to hand out, under the jail's lock
	serving uint64 // under mu
}

func (s *sequence) take() uint64 {
	t := s.next
	s.next++
	return t
}

// run waits for ticket t's turn, runs f, and lets the next ticket go.
func (s *sequence) run(t uint64, f func()) {
	s.mu.Lock()
	if s.cond.L == nil {
		s.cond.L = &s.mu
	}
	for s.serving != t {
		s.cond.Wait()
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.serving++
		s.cond.Broadcast()
		s.mu.Unlock()
	}()
	f()
}

// turn is a decision's place in both stages. Every turn drawn must pass
// through both, or the stages stop.
type turn struct{ enforce, report uint64 }

// takeTurn draws a turn; call it with the jail's lock held.
func (j *Jail) takeTurn() turn {
	return turn{enforce: j.enforcing.take(), report: j.reporting.take()}
}

// enforce runs f in t's turn of the enforcer stage.
func (j *Jail) enforce(t turn, f func()) { j.enforcing.run(t.enforce, f) }

// report runs f in t's turn of the history and hook stage.
func (j *Jail) report(t turn, f func()) { j.reporting.run(t.report, f) }

// pend marks p as having an enforcer call decided but not yet made, and
// settle as made; both under the jail's lock. An eviction the enforcer
// reports must not undo a decision about the victim that the map has not
// seen yet.
func (j *Jail) pend(p netip.Prefix) { j.pending[p]++ }

func (j *Jail) settle(p netip.Prefix) {
	if j.pending[p]--; j.pending[p] <= 0 {
		delete(j.pending, p)
	}
}
