package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// ErrNoDaemon means nothing listens on the socket: the caller falls back
// to the pins.
var ErrNoDaemon = errors.New("no daemon listening")

// Call sends one request and waits for the answer.
func Call(socket string, req Request) (*Response, error) {
	c, err := net.DialTimeout("unix", socket, 2*time.Second)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, ErrNoDaemon
		}
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("connect to daemon at %s: %w (run as root, like the daemon)", socket, err)
		}
		return nil, fmt.Errorf("connect to daemon at %s: %w", socket, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return nil, fmt.Errorf("send to daemon: %w", err)
	}
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return nil, fmt.Errorf("read daemon answer: %w", err)
	}
	if resp.Error != "" {
		return &resp, errors.New(resp.Error)
	}
	return &resp, nil
}
