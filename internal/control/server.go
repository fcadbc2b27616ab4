package control

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"time"
)

// Handler answers one request.
type Handler func(Request) Response

// Serve answers requests until ctx ends, then removes the socket.
func Serve(ctx context.Context, ln net.Listener, h Handler, log *slog.Logger) {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil {
				log.Error("control socket accept", "err", err)
			}
			return
		}
		go serveOne(c, h)
	}
}

func serveOne(c net.Conn, h Handler) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	var req Request
	// Bound what a confused client sends; an import chunk is the largest.
	if err := json.NewDecoder(io.LimitReader(c, MaxRequest)).Decode(&req); err != nil {
		json.NewEncoder(c).Encode(Response{Error: "bad request: " + err.Error()})
		return
	}
	json.NewEncoder(c).Encode(h(req))
}
