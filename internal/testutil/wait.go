package testutil

import (
	"testing"
	"time"
)

// HangGuard bounds waits for events that must happen at once, so that a
// regression fails the test instead of hanging it; it is not a timing
// requirement.
const HangGuard = 30 * time.Second

// WaitFor receives one value from ch, failing t when none arrives within
// HangGuard.
func WaitFor[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(HangGuard):
		t.Fatalf("no %s after %s", what, HangGuard)
		panic("unreachable")
	}
}
