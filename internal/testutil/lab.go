package testutil

import "github.com/xdpban/xdpban/internal/lab"

// The lab pieces that the benchmark tool shares live in internal/lab;
// tests keep reaching them here.

// BPFFSRoot is where tests pin: the system's bpffs, mounted if missing.
const BPFFSRoot = lab.BPFFSRoot

type (
	// PKI is lab.PKI.
	PKI = lab.PKI
	// Fail2ban is lab.Fail2ban.
	Fail2ban = lab.Fail2ban
)

var (
	NewPKI       = lab.NewPKI
	NeedFail2ban = lab.NeedFail2ban
	NewFail2ban  = lab.NewFail2ban
	AcceptLoop   = lab.AcceptLoop
	MountBPFFS   = lab.MountBPFFS
	RandomSuffix = lab.RandomSuffix
)
