// Package jail decides who is banned and for how long, with fail2ban 1.0's
// semantics: maxretry failures within findtime ban an address for bantime,
// optionally growing with bantime.increment; ignoreip and ignoreself are
// never banned, by failures, by hand or at restore (IgnoreList.CheckBan); IPv6 may be counted and banned per prefix.
//
// The jail does no I/O and reads no clock of its own: it talks to an
// Enforcer (the XDP map, or nothing in log-only mode), keeps ban counts in a
// History (the state store, or memory), and takes the time from an injected
// clock, so every rule is testable with a fake clock and no kernel.
//
// Where fail2ban's documentation and its implementation disagree, the jail
// follows the documentation, which is what people configure against: a
// host is banned when it has generated maxretry failures during the last
// findtime (an exact window; fail2ban 1.0 estimates the count from the
// failure rate once the first failure leaves the window).
package jail
