package ringnet

import (
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/backend"
	"github.com/ringnet/ringnet/loop"
)

// config is the loop shape shared by ListenConfig and Dialer.
type config struct {
	Loops       int
	RingEntries uint32
	Buffers     int
	BufferSize  int
}

func (c config) validate() error {
	if c.Buffers < 0 || c.Buffers > 1<<15 || c.Buffers&(c.Buffers-1) != 0 {
		return fmt.Errorf("ringnet: Buffers = %d is not a power of two in [0, 32768]", c.Buffers)
	}
	if c.Loops < 0 || c.BufferSize < 0 {
		return fmt.Errorf("ringnet: negative Loops (%d) or BufferSize (%d)", c.Loops, c.BufferSize)
	}
	return nil
}

// acquire joins (or starts) the group of loops for c.
func (c config) acquire() (backend.Group, error) {
	return loop.Backend.Acquire(backend.Config{
		Loops:       c.Loops,
		RingEntries: c.RingEntries,
		Buffers:     uint16(c.Buffers),
		BufferSize:  c.BufferSize,
	})
}

// adoptConn moves a connection made by the net package onto the loops: a
// duplicate of its socket goes to a loop, and nc is closed.
func adoptConn(nc net.Conn, network string, cfg config) (*Conn, error) {
	if err := cfg.validate(); err != nil {
		nc.Close()
		return nil, err
	}
	fd, err := dupFD(nc.(syscall.Conn))
	nc.Close()
	if err != nil {
		return nil, err
	}
	g, err := cfg.acquire()
	if err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	c := newConn(g.Adopt(fd), network)
	g.Release()
	return c, nil
}
