//go:build linux

package loop

import (
	"fmt"

	"github.com/ringnet/ringnet/internal/dgram"
)

// errNoPackets is why this backend does not serve datagram sockets.
var errNoPackets = fmt.Errorf("%w: datagram sockets are not served by the io_uring loops yet", ErrUnsupported)

// ProbePackets reports whether the loops can serve datagram sockets.
func ProbePackets() error { return errNoPackets }

// AdoptPacket is not served by the io_uring loops yet (ProbePackets).
func (g *Group) AdoptPacket(int, dgram.Options) (*dgram.Socket, error) { return nil, errNoPackets }
