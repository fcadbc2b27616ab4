// Package crowdsec is xdpban's client of CrowdSec's Local API (LAPI): as a
// remediation component it pulls the decision stream and hands each
// decision to a Sink the daemon provides; as a watcher it pushes the
// jail's bans as alerts and deletes the decisions of unbans, through a
// bounded queue that survives a restart.
//
// It speaks the three documented endpoints with the standard library
// rather than through go-cs-bouncer, whose current releases need a
// crowdsec module pinned to talk to Debian's LAPI 1.4.6 and pull about
// 270 modules into the build; the stream is decoded one decision at a
// time so that a snapshot of any size costs the same memory.
package crowdsec
