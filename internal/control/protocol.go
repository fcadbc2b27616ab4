package control

import (
	"time"

	"github.com/xdpban/xdpban/internal/jail"
)

// DefaultSocket is where the daemon listens (systemd's RuntimeDirectory).
const DefaultSocket = "/run/xdpban/control.sock"

// Request is what the command sends.
type Request struct {
	Cmd      string        `json:"cmd"`                // "status", "ban", "unban", or a Cmd* below
	Target   string        `json:"target,omitempty"`   // address or prefix
	Duration time.Duration `json:"duration,omitempty"` // ban: <0 permanent, 0 the jail's bantime
	Targets  []string      `json:"targets,omitempty"`  // banned: the addresses asked about
	Packed   []byte        `json:"packed,omitempty"`   // import: PackBans
}

// The commands besides status, ban and unban.
const (
	CmdUnbanAll  = "unban-all"  // answers Count
	CmdBanned    = "banned"     // Targets; answers Banned, one per target
	CmdHistory   = "history"    // Target; answers History
	CmdIgnoreAdd = "ignore-add" // Target; answers Ignore and Count (bans lifted)
	CmdIgnoreDel = "ignore-del" // Target; answers Ignore
	CmdIgnoreLs  = "ignore-list"
	CmdReload    = "reload" // re-read --config and apply it
	CmdExport    = "export" // answers Status.Bans with every ban in force
	CmdImport    = "import" // Packed; answers Count (in force)

	// MaxRequest bounds one request: an import sends its bans in chunks
	// that fit.
	MaxRequest = 32 << 20
)

// Response is what the daemon answers.
type Response struct {
	Error  string  `json:"error,omitempty"`
	Ban    *Ban    `json:"ban,omitempty"`
	Status *Status `json:"status,omitempty"`

	Count   int       `json:"count,omitempty"`
	Banned  []Banned  `json:"banned,omitempty"`
	History *History  `json:"history,omitempty"`
	Ignore  *[]string `json:"ignore,omitempty"` // the runtime ignoreip list
}

// Banned answers whether one address is banned.
type Banned struct {
	Target string `json:"target"`
	Ban    *Ban   `json:"ban,omitempty"` // nil: not banned
}

// History is what the daemon knows of one address.
type History struct {
	Target   string      `json:"target"`
	Failures int         `json:"failures"` // on record within findtime
	Bans     []time.Time `json:"bans"`     // starts of its recorded bans, oldest first
	Current  *Ban        `json:"current,omitempty"`
}

// Ban is one ban as the jail knows it.
type Ban struct {
	Prefix string    `json:"prefix"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end,omitzero"` // zero: permanent
	Origin string    `json:"origin"`       // jail, manual, crowdsec, restored
	Count  int       `json:"count"`        // this address's ban number
}

// Status is the daemon's view: the jail (fail2ban-client's words) and the
// sources feeding it.
type Status struct {
	Jail     string         `json:"jail"`
	LogOnly  bool           `json:"log_only"`
	Started  time.Time      `json:"started"`
	Files    []string       `json:"files"` // fail2ban log written and logs watched
	Failed   jail.Stats     `json:"counts"`
	Failures map[string]int `json:"failures_by_code"`
	Bans     []Ban          `json:"bans"`
	CrowdSec *CrowdSec      `json:"crowdsec,omitempty"`
}

// CrowdSec is the link to a CrowdSec Local API, when one is configured.
type CrowdSec struct {
	URL  string `json:"url"`
	Pull bool   `json:"pull"` // a bouncer key is set: decisions come in
	Push bool   `json:"push"` // a machine is set: jail bans go out

	Reachable bool              `json:"reachable"`          // the last pull got an answer
	LastPull  time.Time         `json:"last_pull,omitzero"` // last complete pull
	LastPush  time.Time         `json:"last_push,omitzero"` // last push LAPI accepted
	Applied   uint64            `json:"decisions_applied"`  // decisions put in force
	Skipped   map[string]uint64 `json:"decisions_skipped"`  // by reason
	Deleted   uint64            `json:"decisions_deleted"`  // deletions received
	Queued    uint64            `json:"pushes_queued"`      // pushes queued since start
	Sent      uint64            `json:"pushes_sent"`        // pushes LAPI accepted
	Failed    uint64            `json:"pushes_failed"`      // push attempts that failed (retried)
	Dropped   uint64            `json:"pushes_dropped"`     // oldest pushes dropped from a full queue
	Pending   int               `json:"pushes_pending"`     // queued now
}
