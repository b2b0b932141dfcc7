package ringnet

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/ringnet/ringnet/internal/backend"
)

// ListenConfig mirrors net.ListenConfig and adds the shape of the event
// loops. The zero value is the default configuration.
type ListenConfig struct {
	// Control, if not nil, is called after the socket is created and
	// before it is bound, as with net.ListenConfig.
	Control func(network, address string, c syscall.RawConn) error

	// KeepAlive and KeepAliveConfig are net.ListenConfig's: keep-alive
	// probes of accepted connections. KeepAliveConfig, if enabled, wins;
	// otherwise KeepAlive is the idle time before the first probe (zero:
	// 15 seconds) and a negative KeepAlive disables them.
	KeepAlive       time.Duration
	KeepAliveConfig net.KeepAliveConfig

	// Loops is the number of event loops; zero means one per P that has
	// a CPU to run on, min(runtime.GOMAXPROCS(0), runtime.NumCPU()).
	Loops int
	// RingEntries is the submission queue size of each ring, at most
	// 32768; zero means 1024.
	RingEntries uint32
	// Buffers is the number of provided receive buffers per loop, a power
	// of two, all provided to the kernel at all times; zero means up to
	// 256, provided as the load needs them (16 at first, doubled each
	// time receives find none left). Either way a loop that has received
	// nothing for a few seconds gives the buffers' memory back to the
	// system, and takes it again when traffic returns.
	Buffers int
	// BufferSize is the size of each provided receive buffer, at most
	// 1 GiB; zero means 64 KiB.
	BufferSize int

	// Backend picks the backend: "io_uring", "poll" or "auto"; empty
	// means the RINGNET_BACKEND environment variable, and "auto" when that
	// is unset too. Forcing "io_uring" where it cannot run makes Listen
	// fail with the reason instead of falling back.
	Backend string

	mptcp mptcpChoice // SetMultipathTCP's
}

// Dialer mirrors net.Dialer: its fields mean what net.Dialer's do, and the
// connections it returns are served by the same event loops as accepted
// ones. The zero value dials with no timeout and the default loops.
type Dialer struct {
	// Timeout, Deadline, LocalAddr, FallbackDelay, KeepAlive,
	// KeepAliveConfig, Resolver, Control and ControlContext are net.Dialer's.
	Timeout         time.Duration
	Deadline        time.Time
	LocalAddr       net.Addr
	FallbackDelay   time.Duration
	KeepAlive       time.Duration
	KeepAliveConfig net.KeepAliveConfig
	Resolver        *net.Resolver
	Control         func(network, address string, c syscall.RawConn) error
	ControlContext  func(ctx context.Context, network, address string, c syscall.RawConn) error

	// DualStack is ignored, as net ignores it.
	//
	// Deprecated: as net.Dialer.DualStack: Fast Fallback is on by default;
	// a negative FallbackDelay turns it off.
	DualStack bool

	// Cancel, if not nil, aborts a dial in progress when it is closed, as
	// net.Dialer.Cancel does.
	//
	// Deprecated: as net.Dialer.Cancel: use DialContext.
	Cancel <-chan struct{}

	// Loops, RingEntries, Buffers, BufferSize and Backend shape the event
	// loops as in ListenConfig.
	Loops       int
	RingEntries uint32
	Buffers     int
	BufferSize  int
	Backend     string

	mptcp mptcpChoice // SetMultipathTCP's
}

// mptcpChoice is what SetMultipathTCP chose; the zero value leaves net's
// default (MPTCP on listeners, not on dialers, as GODEBUG=multipathtcp
// may change).
type mptcpChoice int8

const (
	mptcpDefault mptcpChoice = iota
	mptcpOn
	mptcpOff
)

func mptcpChose(use bool) mptcpChoice {
	if use {
		return mptcpOn
	}
	return mptcpOff
}

// apply passes a choice made with SetMultipathTCP on to net.
func (m mptcpChoice) apply(set func(bool)) {
	if m != mptcpDefault {
		set(m == mptcpOn)
	}
}

// MultipathTCP reports whether listeners made with lc use Multipath TCP
// where the system supports it, as net.ListenConfig.MultipathTCP does.
func (lc *ListenConfig) MultipathTCP() bool { return lc.netListenConfig().MultipathTCP() }

// SetMultipathTCP chooses whether listeners made with lc use Multipath
// TCP where the system supports it, as net.ListenConfig.SetMultipathTCP
// does. The listening socket is net's, so net decides as it would.
func (lc *ListenConfig) SetMultipathTCP(use bool) { lc.mptcp = mptcpChose(use) }

// netListenConfig is lc as a net.ListenConfig, which makes the listening
// socket (and serves the networks the loops do not).
func (lc *ListenConfig) netListenConfig() *net.ListenConfig {
	nlc := &net.ListenConfig{Control: lc.Control, KeepAlive: lc.KeepAlive, KeepAliveConfig: lc.KeepAliveConfig}
	lc.mptcp.apply(nlc.SetMultipathTCP)
	return nlc
}

// DialUDP connects to a UDP address as net.Dialer.DialUDP does, and
// returns net's own socket, served by its netpoller: its result type is
// *net.UDPConn. Dial and DialContext with "udp" return a *UDPConn served
// by the loops.
func (d *Dialer) DialUDP(ctx context.Context, network string, laddr, raddr netip.AddrPort) (*net.UDPConn, error) {
	return d.netDialer().DialUDP(ctx, network, laddr, raddr)
}

// DialIP connects to an IP address as net.Dialer.DialIP does: IP sockets
// are the net package's, served by its netpoller and not by the loops.
func (d *Dialer) DialIP(ctx context.Context, network string, laddr, raddr netip.Addr) (*net.IPConn, error) {
	return d.netDialer().DialIP(ctx, network, laddr, raddr)
}

// MultipathTCP reports whether d dials with Multipath TCP where the
// system supports it, as net.Dialer.MultipathTCP does.
func (d *Dialer) MultipathTCP() bool { return d.netDialer().MultipathTCP() }

// SetMultipathTCP chooses whether d dials with Multipath TCP where the
// system supports it (Linux), as net.Dialer.SetMultipathTCP does: a TCP
// dial then makes an MPTCP socket, and falls back to TCP when the system
// refuses one or the MPTCP connect fails.
func (d *Dialer) SetMultipathTCP(use bool) { d.mptcp = mptcpChose(use) }

// The keep-alive defaults of net (net.KeepAliveConfig's zero fields).
const (
	defaultKeepAliveIdle     = 15 * time.Second
	defaultKeepAliveInterval = 15 * time.Second
	defaultKeepAliveCount    = 9
)

// opts carries what a listener does to the connections it accepts.
type opts struct {
	keepAlive       time.Duration
	keepAliveConfig net.KeepAliveConfig
	unlink          bool // remove the Unix socket file on Close
	// userOptions: the user may have set socket options the accepted
	// connections inherit (a Control hook, a socket from a file), SO_LINGER
	// among them.
	userOptions bool
}

// maxBufferSize bounds Config.BufferSize: a provided buffer's length is a
// 32-bit field of the ring, and the poll backend allocates one such buffer
// per loop.
const maxBufferSize = 1 << 30

// maxRingEntries bounds Config.RingEntries: io_uring_setup refuses more
// (IORING_MAX_ENTRIES).
const maxRingEntries = 32768

// config is the loop shape shared by ListenConfig and Dialer.
type config struct {
	Loops       int
	RingEntries uint32
	Buffers     int
	BufferSize  int
	Backend     string
}

func (c config) validate() error {
	if c.Buffers < 0 || c.Buffers > 1<<15 || c.Buffers&(c.Buffers-1) != 0 {
		return fmt.Errorf("ringnet: Buffers = %d is not a power of two in [0, 32768]", c.Buffers)
	}
	if c.Loops < 0 || c.BufferSize < 0 {
		return fmt.Errorf("ringnet: negative Loops (%d) or BufferSize (%d)", c.Loops, c.BufferSize)
	}
	if c.RingEntries > maxRingEntries {
		return fmt.Errorf("ringnet: RingEntries = %d is above %d", c.RingEntries, maxRingEntries)
	}
	if c.BufferSize > maxBufferSize {
		return fmt.Errorf("ringnet: BufferSize = %d is above %d", c.BufferSize, maxBufferSize)
	}
	return nil
}

func (c config) backendConfig() backend.Config {
	return backend.Config{
		Loops:       c.Loops,
		RingEntries: c.RingEntries,
		Buffers:     uint16(c.Buffers),
		BufferSize:  c.BufferSize,
	}
}
