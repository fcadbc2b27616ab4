package lab

import "net"

// AcceptLoop runs handle for every connection ln accepts, each in its own
// goroutine, closing the connection afterwards, until ln is closed.
func AcceptLoop(ln net.Listener, handle func(net.Conn)) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
}
