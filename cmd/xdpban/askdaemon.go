package main

import (
	"errors"

	"github.com/xdpban/xdpban/internal/control"
)

// askDaemon sends req to the daemon on socket. up is false, with no
// error, when no daemon listens: the command then works on the pins or
// the store itself, as fail2ban-client cannot but xdpban can.
func askDaemon(socket string, req control.Request) (resp *control.Response, up bool, err error) {
	resp, err = control.Call(socket, req)
	if errors.Is(err, control.ErrNoDaemon) {
		return nil, false, nil
	}
	return resp, true, err
}
