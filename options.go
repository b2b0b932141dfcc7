package ringnet

import (
	"syscall"
	"time"
)

// ListenConfig mirrors net.ListenConfig and adds the shape of the event
// loops. The zero value is the default configuration.
type ListenConfig struct {
	// Control, if not nil, is called after the socket is created and
	// before it is bound, as with net.ListenConfig.
	Control func(network, address string, c syscall.RawConn) error

	// KeepAlive is the keep-alive period of accepted connections: zero
	// means 15 seconds, as with net; negative disables keep-alives.
	KeepAlive time.Duration

	// Loops is the number of event loops; zero means runtime.GOMAXPROCS(0).
	Loops int
	// RingEntries is the submission queue size of each ring; zero means
	// 1024.
	RingEntries uint32
	// Buffers is the number of provided receive buffers per loop, a power
	// of two; zero means 512.
	Buffers int
	// BufferSize is the size of each provided receive buffer; zero means
	// 16 KiB.
	BufferSize int
}

const defaultKeepAlive = 15 * time.Second
