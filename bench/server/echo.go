//go:build linux

package main

import (
	"errors"
	"net"
	"time"
)

// echoBuffer is the size of each connection's read buffer.
const echoBuffer = 32 << 10

// serveEcho accepts connections on ln and echoes each one's bytes back from
// a goroutine of its own until the peer closes it.
func serveEcho(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of descriptors or similar: back off as net/http does.
			time.Sleep(5 * time.Millisecond)
			continue
		}
		go echo(c)
	}
}

// echo copies c's input back to it. Writes are retried until the whole
// chunk is sent, since not every implementation under test reports short
// writes as errors.
func echo(c net.Conn) {
	defer c.Close()
	buf := make([]byte, echoBuffer)
	for {
		n, err := c.Read(buf)
		for p := buf[:n]; len(p) > 0; {
			m, werr := c.Write(p)
			if werr != nil {
				return
			}
			p = p[m:]
		}
		if err != nil {
			return
		}
	}
}
