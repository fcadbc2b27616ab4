package main

// quietExit ends a command with a status other than 0 after it has said
// all there is on stdout: `xdpban banned` exits 3 for "not banned",
// which is an answer, not an error, so main prints nothing more.
type quietExit int

func (q quietExit) Error() string { return "" }

// exitNotBanned is banned's status when an address asked about is not
// banned: 1 stays "something went wrong", and 3 is what systemctl
// is-active uses for "not in that state".
const exitNotBanned = quietExit(3)
