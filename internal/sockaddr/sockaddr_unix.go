//go:build unix

package sockaddr

import "golang.org/x/sys/unix"

// FromSockaddr converts sa; an unknown kind, or nil, gives the zero Addr.
func FromSockaddr(sa unix.Sockaddr) Addr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		a := Addr{Family: Inet4, Port: uint16(sa.Port)}
		copy(a.IP[:], sa.Addr[:])
		return a
	case *unix.SockaddrInet6:
		return Addr{Family: Inet6, Port: uint16(sa.Port), IP: sa.Addr, Zone: sa.ZoneId}
	case *unix.SockaddrUnix:
		return Addr{Family: Unix, Name: sa.Name}
	}
	return Addr{}
}

// Sockaddr converts a (nil for the zero Addr).
func (a *Addr) Sockaddr() unix.Sockaddr {
	switch a.Family {
	case Inet4:
		sa := &unix.SockaddrInet4{Port: int(a.Port)}
		copy(sa.Addr[:], a.IP[:4])
		return sa
	case Inet6:
		return &unix.SockaddrInet6{Port: int(a.Port), Addr: a.IP, ZoneId: a.Zone}
	case Unix:
		return &unix.SockaddrUnix{Name: a.Name}
	}
	return nil
}
