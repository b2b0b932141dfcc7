//go:build linux || darwin || dragonfly || freebsd || netbsd

package ringnet

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ringnet/ringnet/internal/backend"
	"github.com/ringnet/ringnet/internal/stream"
)

// dial connects through backend b. It does what net.Dialer does, in the
// same order and with the same errors: the deadline from Timeout, Deadline
// and ctx; name resolution with the Dialer's Resolver; the addresses tried
// one after another with the time left shared among them; for "tcp", the
// two address families raced with dual-stack fast fallback. Only the
// connect itself differs: a loop carries it (IORING_OP_CONNECT on
// io_uring, writable readiness on poll), and the connected socket stays on
// that loop.
func (d *Dialer) dial(ctx context.Context, network, address string, b *backend.Backend, cfg config) (net.Conn, error) {
	if ctx == nil {
		panic("nil context")
	}
	if deadline := d.deadline(ctx, time.Now()); !deadline.IsZero() {
		if dl, ok := ctx.Deadline(); !ok || deadline.Before(dl) {
			sub, cancel := context.WithDeadline(ctx, deadline)
			defer cancel()
			ctx = sub
		}
	}
	if abort := d.Cancel; abort != nil {
		sub, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-abort:
				cancel()
			case <-sub.Done():
			}
		}()
		ctx = sub
	}
	dl := &dialing{d: *d, b: b, cfg: cfg.backendConfig(), network: network,
		mptcp: ipprotoMPTCP != 0 && network != "unix" && d.MultipathTCP()}
	if address == "" {
		return nil, &net.OpError{Op: "dial", Net: network, Err: errMissingAddress}
	}
	if network == "unix" {
		if d.LocalAddr != nil {
			// As net: a local address of another network is refused, and
			// an unnamed one means none (no bind, so no automatic name).
			la, ok := d.LocalAddr.(*net.UnixAddr)
			if !ok || la.Network() != network {
				return nil, &net.OpError{Op: "dial", Net: network, Err: &net.AddrError{Err: "mismatched local address type", Addr: d.LocalAddr.String()}}
			}
			if la.Name == "" {
				dl.d.LocalAddr = nil
			}
		}
		return dl.serial(ctx, []net.Addr{&net.UnixAddr{Name: address, Net: network}})
	}
	addrs, err := d.resolveTCP(ctx, network, address)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	var primaries, fallbacks []net.Addr
	if d.FallbackDelay >= 0 && network == "tcp" {
		primaries, fallbacks = partition(addrs)
	} else {
		primaries = addrs
	}
	if len(fallbacks) == 0 {
		return dl.serial(ctx, primaries)
	}
	return dl.parallel(ctx, primaries, fallbacks, d.fallbackDelay())
}

// errMissingAddress is net's error for a dial without an address.
var errMissingAddress = errors.New("missing address")

// deadline is the earliest of now+Timeout, Deadline and ctx's deadline.
func (d *Dialer) deadline(ctx context.Context, now time.Time) (earliest time.Time) {
	if d.Timeout != 0 {
		earliest = now.Add(d.Timeout)
	}
	if dl, ok := ctx.Deadline(); ok && (earliest.IsZero() || dl.Before(earliest)) {
		earliest = dl
	}
	if !d.Deadline.IsZero() && (earliest.IsZero() || d.Deadline.Before(earliest)) {
		earliest = d.Deadline
	}
	return earliest
}

// fallbackDelay is how long the first address family gets before the
// other one is tried too: FallbackDelay, or 300 ms as with net.
func (d *Dialer) fallbackDelay() time.Duration {
	if d.FallbackDelay > 0 {
		return d.FallbackDelay
	}
	return 300 * time.Millisecond
}

func (d *Dialer) resolver() *net.Resolver {
	if d.Resolver != nil {
		return d.Resolver
	}
	return net.DefaultResolver
}

// resolveTCP turns "host:port" into the addresses to try, in the
// resolver's order, keeping those that network and LocalAddr allow.
func (d *Dialer) resolveTCP(ctx context.Context, network, address string) ([]net.Addr, error) {
	host, service, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	r := d.resolver()
	port, err := r.LookupPort(ctx, network, service)
	if err != nil {
		return nil, err
	}
	var ips []net.IPAddr
	switch ip, perr := netip.ParseAddr(host); {
	case host == "":
		ips = []net.IPAddr{{}} // the local system, as with net
	case perr == nil:
		ips = []net.IPAddr{{IP: ip.AsSlice(), Zone: ip.Zone()}}
	default:
		if ips, err = r.LookupIPAddr(ctx, host); err != nil {
			return nil, err
		}
	}
	var local *net.TCPAddr
	if d.LocalAddr != nil {
		la, ok := d.LocalAddr.(*net.TCPAddr)
		if !ok {
			return nil, &net.AddrError{Err: "mismatched local address type", Addr: d.LocalAddr.String()}
		}
		local = la
	}
	var addrs []net.Addr
	for _, ip := range ips {
		is4 := ip.IP.To4() != nil
		switch {
		case network == "tcp4" && ip.IP != nil && !is4,
			network == "tcp6" && ip.IP != nil && is4:
			continue
		case local != nil && !wildcard(local.IP) && !wildcard(ip.IP) && (local.IP.To4() != nil) != is4:
			continue // the local address is of the other family
		}
		addrs = append(addrs, &net.TCPAddr{IP: ip.IP, Port: port, Zone: ip.Zone})
	}
	if len(addrs) == 0 {
		return nil, &net.AddrError{Err: "no suitable address found", Addr: host}
	}
	return addrs, nil
}

func wildcard(ip net.IP) bool { return ip == nil || ip.IsUnspecified() }

// partition splits addrs into the family of the first one (primaries)
// and the other (fallbacks), keeping their order.
func partition(addrs []net.Addr) (primaries, fallbacks []net.Addr) {
	first := addrs[0].(*net.TCPAddr).IP.To4() != nil
	for _, a := range addrs {
		if (a.(*net.TCPAddr).IP.To4() != nil) == first {
			primaries = append(primaries, a)
		} else {
			fallbacks = append(fallbacks, a)
		}
	}
	return primaries, fallbacks
}

// partialDeadline gives one of addrsLeft addresses its share of the time
// left before deadline: an equal share, but at least two seconds when
// there is that much time (a slow first address must not starve the
// others, nor a long list leave each too little to connect).
func partialDeadline(now, deadline time.Time, addrsLeft int) (time.Time, error) {
	if deadline.IsZero() {
		return deadline, nil
	}
	left := deadline.Sub(now)
	if left <= 0 {
		return time.Time{}, errTimeout
	}
	share := left / time.Duration(addrsLeft)
	const floor = 2 * time.Second
	if share < floor {
		share = min(left, floor)
	}
	return now.Add(share), nil
}

// dialing is one Dial call. It holds a copy of the Dialer: a losing
// attempt of a race may still run after Dial returned, and the caller may
// change its Dialer by then.
type dialing struct {
	d       Dialer
	b       *backend.Backend
	cfg     backend.Config
	network string
	mptcp   bool // try Multipath TCP first
}

// parallel races the primaries against the fallbacks, which start after
// delay, or at once when the primaries have all failed. The first
// connection wins and the other attempt is cancelled; if both fail, the
// primaries' error is returned.
func (dl *dialing) parallel(ctx context.Context, primaries, fallbacks []net.Addr, delay time.Duration) (net.Conn, error) {
	type result struct {
		c       net.Conn
		err     error
		primary bool
	}
	results := make(chan result)
	returned := make(chan struct{})
	defer close(returned)
	race := func(ctx context.Context, primary bool, addrs []net.Addr) {
		c, err := dl.serial(ctx, addrs)
		select {
		case results <- result{c: c, err: err, primary: primary}:
		case <-returned:
			if c != nil {
				c.Close()
			}
		}
	}
	primaryCtx, cancelPrimary := context.WithCancel(ctx)
	defer cancelPrimary()
	go race(primaryCtx, true, primaries)
	fallbackCtx, cancelFallback := context.WithCancel(ctx)
	defer cancelFallback()
	timer := time.NewTimer(delay)
	defer timer.Stop()
	var primaryErr error
	pending := 1
	started := false
	for {
		select {
		case <-timer.C:
			started = true
			pending++
			go race(fallbackCtx, false, fallbacks)
		case r := <-results:
			pending--
			if r.err == nil {
				return r.c, nil
			}
			if r.primary {
				primaryErr = r.err
				if !started && timer.Stop() {
					timer.Reset(0) // nothing left to wait for: start now
				}
			}
			if pending == 0 && started {
				return nil, primaryErr
			}
		}
	}
}

// serial tries addrs in order and returns the first connection, or the
// first error.
func (dl *dialing) serial(ctx context.Context, addrs []net.Addr) (net.Conn, error) {
	g, err := dl.b.Acquire(dl.cfg)
	if err != nil {
		// Named after the first address, as net's error for a socket it
		// could not make.
		var ra net.Addr
		if len(addrs) > 0 {
			ra = addrs[0]
		}
		return nil, dl.opError(ra, err)
	}
	defer g.Release()
	var firstErr error
	for i, ra := range addrs {
		if err := ctx.Err(); err != nil {
			return nil, dl.opError(ra, mapErr(err))
		}
		actx := ctx
		if deadline, ok := ctx.Deadline(); ok {
			share, err := partialDeadline(time.Now(), deadline, len(addrs)-i)
			if err != nil {
				if firstErr == nil {
					firstErr = dl.opError(ra, err)
				}
				break
			}
			if share.Before(deadline) {
				var cancel context.CancelFunc
				actx, cancel = context.WithDeadline(ctx, share)
				defer cancel()
			}
		}
		c, err := dl.single(actx, g, ra)
		if err == nil {
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

func (dl *dialing) opError(ra net.Addr, err error) error {
	return &net.OpError{Op: "dial", Net: dl.network, Source: dl.d.LocalAddr, Addr: ra, Err: err}
}

// single makes a socket, prepares it as net does (IPV6_V6ONLY, Control,
// bind, TCP_NODELAY), connects it through a loop, then applies keep-alive.
// With Multipath TCP chosen it tries an MPTCP socket first and, as net
// does, TCP when the system refuses one or its connect fails.
func (dl *dialing) single(ctx context.Context, g backend.Group, ra net.Addr) (net.Conn, error) {
	if dl.mptcp {
		if c, err := dl.singleProto(ctx, g, ra, ipprotoMPTCP); err == nil {
			return c, nil
		}
	}
	return dl.singleProto(ctx, g, ra, 0)
}

// singleProto is single with a socket of protocol proto.
func (dl *dialing) singleProto(ctx context.Context, g backend.Group, ra net.Addr, proto int) (net.Conn, error) {
	family, sa, err := remoteSockaddr(dl.network, dl.d.LocalAddr, ra)
	if err != nil {
		return nil, dl.opError(ra, err)
	}
	fd, err := newSocket(family, proto)
	if err != nil {
		return nil, dl.opError(ra, os.NewSyscallError("socket", err))
	}
	s, err := dl.connect(ctx, g, fd, family, sa, ra)
	if err != nil {
		_ = unix.Close(fd)
		return nil, dl.opError(ra, err)
	}
	c := newConn(s, dl.network, nil)
	if dl.d.Control != nil || dl.d.ControlContext != nil {
		c.s.NoteRawAccess() // the hook may have set SO_LINGER
	}
	if dl.network != "unix" {
		c.setupKeepAlive(dl.d.KeepAlive, dl.d.KeepAliveConfig)
	}
	return c, nil
}

func (dl *dialing) connect(ctx context.Context, g backend.Group, fd, family int, sa syscall.Sockaddr, ra net.Addr) (*stream.Stream, error) {
	if family == unix.AF_INET6 {
		v6only := 0
		if dl.network == "tcp6" {
			v6only = 1
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only); err != nil {
			return nil, os.NewSyscallError("setsockopt", err)
		}
	}
	if family != unix.AF_UNIX {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
			return nil, os.NewSyscallError("setsockopt", err)
		}
	}
	if err := dl.control(ctx, fd, family, ra); err != nil {
		return nil, err
	}
	if la := dl.d.LocalAddr; la != nil {
		lsa, err := localSockaddr(family, la)
		if err != nil {
			return nil, err
		}
		if err := syscall.Bind(fd, lsa); err != nil {
			return nil, os.NewSyscallError("bind", err)
		}
	}
	s, err := g.Connect(ctx, fd, sa)
	switch err := err.(type) {
	case nil:
		return s, nil
	case syscall.Errno:
		return nil, os.NewSyscallError("connect", err)
	default:
		return nil, mapErr(err)
	}
}

// control calls the Dialer's ControlContext or Control hook as net does:
// with the network named for the socket's family ("tcp4", "tcp6", "unix")
// and the remote address.
func (dl *dialing) control(ctx context.Context, fd, family int, ra net.Addr) error {
	if dl.d.ControlContext == nil && dl.d.Control == nil {
		return nil
	}
	network := dl.network
	if last := network[len(network)-1]; network != "unix" && last != '4' && last != '6' {
		if family == unix.AF_INET {
			network += "4"
		} else {
			network += "6"
		}
	}
	if dl.d.ControlContext != nil {
		return dl.d.ControlContext(ctx, network, ra.String(), socketRaw(fd))
	}
	return dl.d.Control(network, ra.String(), socketRaw(fd))
}

// remoteSockaddr picks the socket family for dialing ra from la (nil: any)
// on network, as net does: IPv4 when network says "tcp4", or when neither
// address is IPv6 (the empty host counts as IPv4), and IPv6 otherwise, an
// IPv4 address then taking its IPv4-mapped form (a wildcard IPv6 local
// address dialing an IPv4 host, say).
func remoteSockaddr(network string, la, ra net.Addr) (int, syscall.Sockaddr, error) {
	switch ra := ra.(type) {
	case *net.UnixAddr:
		return unix.AF_UNIX, &syscall.SockaddrUnix{Name: ra.Name}, nil
	case *net.TCPAddr:
		family := unix.AF_INET6
		if network == "tcp4" || network != "tcp6" && isIPv4(ra.IP) && isIPv4Local(la) {
			family = unix.AF_INET
		}
		sa, err := ipSockaddr(family, ra.IP, ra.Port, ra.Zone)
		return family, sa, err
	}
	return 0, nil, &net.AddrError{Err: "unexpected address type", Addr: ra.String()}
}

// isIPv4 reports whether ip is IPv4 for the choice of a socket family, as
// net's does: the empty address included.
func isIPv4(ip net.IP) bool { return len(ip) <= net.IPv4len || ip.To4() != nil }

// isIPv4Local is isIPv4 for a Dialer's LocalAddr; none, or an address of
// another kind, does not ask for IPv6 (binding the latter fails later, as
// with net).
func isIPv4Local(la net.Addr) bool {
	if a, ok := la.(*net.TCPAddr); ok && a != nil {
		return isIPv4(a.IP)
	}
	return true
}

// localSockaddr is LocalAddr in the socket's family.
func localSockaddr(family int, la net.Addr) (syscall.Sockaddr, error) {
	switch la := la.(type) {
	case *net.UnixAddr:
		if family == unix.AF_UNIX {
			return &syscall.SockaddrUnix{Name: la.Name}, nil
		}
	case *net.TCPAddr:
		if family != unix.AF_UNIX {
			return ipSockaddr(family, la.IP, la.Port, la.Zone)
		}
	}
	return nil, &net.AddrError{Err: "mismatched local address type", Addr: la.String()}
}

func ipSockaddr(family int, ip net.IP, port int, zone string) (syscall.Sockaddr, error) {
	if family == unix.AF_INET {
		if len(ip) == 0 {
			ip = net.IPv4zero
		}
		ip4 := ip.To4()
		if ip4 == nil {
			return nil, &net.AddrError{Err: "non-IPv4 address", Addr: ip.String()}
		}
		sa := &syscall.SockaddrInet4{Port: port}
		copy(sa.Addr[:], ip4)
		return sa, nil
	}
	if len(ip) == 0 || ip.Equal(net.IPv4zero) {
		ip = net.IPv6zero
	}
	ip6 := ip.To16()
	if ip6 == nil {
		return nil, &net.AddrError{Err: "non-IPv6 address", Addr: ip.String()}
	}
	sa := &syscall.SockaddrInet6{Port: port, ZoneId: zoneIndex(zone)}
	copy(sa.Addr[:], ip6)
	return sa, nil
}

// socketRaw is the syscall.RawConn handed to Control hooks: the socket is
// not connected yet and no loop watches it, so only Control applies; Read
// and Write return syscall.EINVAL.
type socketRaw int

func (r socketRaw) Control(f func(fd uintptr)) error {
	f(uintptr(r))
	return nil
}

func (r socketRaw) Read(func(fd uintptr) bool) error  { return syscall.EINVAL }
func (r socketRaw) Write(func(fd uintptr) bool) error { return syscall.EINVAL }

// mapErr turns a context's error into the one net reports for it.
func mapErr(err error) error {
	switch err {
	case context.Canceled:
		return errCanceled
	case context.DeadlineExceeded:
		return errTimeout
	}
	return err
}

var (
	errCanceled error = canceledError{}
	errTimeout  error = timeoutError{}
)

// canceledError reads as net's "operation was canceled" and matches
// context.Canceled with errors.Is.
type canceledError struct{}

func (canceledError) Error() string        { return "operation was canceled" }
func (canceledError) Is(target error) bool { return target == context.Canceled }

// timeoutError reads as net's "i/o timeout", is a net.Error whose Timeout
// is true, and matches context.DeadlineExceeded with errors.Is.
type timeoutError struct{}

func (timeoutError) Error() string        { return "i/o timeout" }
func (timeoutError) Timeout() bool        { return true }
func (timeoutError) Temporary() bool      { return true }
func (timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }
