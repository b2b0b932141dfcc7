//go:build linux

package sockaddr

import (
	"encoding/binary"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Parse reads the address the kernel wrote as a msghdr's name, b being
// its msg_namelen bytes. A Unix name is read as the syscall package reads
// it: a leading NUL (an abstract name) becomes '@', and the name ends at
// the first NUL after it.
func Parse(b []byte) Addr {
	if len(b) < 2 {
		return Addr{} // an unnamed sender: the kernel gives no address
	}
	switch family := binary.NativeEndian.Uint16(b); family {
	case unix.AF_INET:
		if len(b) < unix.SizeofSockaddrInet4 {
			return Addr{}
		}
		a := Addr{Family: Inet4, Port: binary.BigEndian.Uint16(b[2:])}
		copy(a.IP[:4], b[4:8])
		return a
	case unix.AF_INET6:
		if len(b) < unix.SizeofSockaddrInet6 {
			return Addr{}
		}
		a := Addr{Family: Inet6, Port: binary.BigEndian.Uint16(b[2:]), Zone: binary.NativeEndian.Uint32(b[24:])}
		copy(a.IP[:], b[8:24])
		return a
	case unix.AF_UNIX:
		// As the syscall package reads it from a zeroed sockaddr: the
		// bytes past the kernel's length count as NULs.
		path := b[2:]
		prefix, start := "", 0
		if len(path) == 0 || path[0] == 0 {
			prefix, start = "@", 1
		}
		end := start
		for end < len(path) && path[end] != 0 {
			end++
		}
		if start > len(path) {
			return Addr{Family: Unix, Name: prefix}
		}
		return Addr{Family: Unix, Name: prefix + string(path[start:end])}
	}
	return Addr{}
}

// Put writes a in the kernel's layout into raw and returns its length.
// A Unix name is laid out as the syscall package lays it out: a path name
// with its trailing NUL, an abstract one ("@..." or a leading NUL)
// without; one too long for sockaddr_un gives EINVAL, as sendto(2) through
// the syscall package does.
func (a *Addr) Put(raw *unix.RawSockaddrAny) (uint32, error) {
	b := unsafe.Slice((*byte)(unsafe.Pointer(raw)), unix.SizeofSockaddrAny)
	switch a.Family {
	case Inet4:
		binary.NativeEndian.PutUint16(b[0:], unix.AF_INET)
		binary.BigEndian.PutUint16(b[2:], a.Port)
		copy(b[4:8], a.IP[:4])
		clear(b[8:unix.SizeofSockaddrInet4])
		return unix.SizeofSockaddrInet4, nil
	case Inet6:
		binary.NativeEndian.PutUint16(b[0:], unix.AF_INET6)
		binary.BigEndian.PutUint16(b[2:], a.Port)
		clear(b[4:8]) // flow info
		copy(b[8:24], a.IP[:])
		binary.NativeEndian.PutUint32(b[24:], a.Zone)
		return unix.SizeofSockaddrInet6, nil
	case Unix:
		return putUnix(b, a.Name)
	}
	return 0, syscall.EAFNOSUPPORT
}

func putUnix(b []byte, name string) (uint32, error) {
	path := b[2:unix.SizeofSockaddrUnix]
	n := len(name)
	if n > len(path) || n == len(path) && name[0] != '@' {
		return 0, syscall.EINVAL
	}
	binary.NativeEndian.PutUint16(b[0:], unix.AF_UNIX)
	copy(path, name)
	if n < len(path) {
		path[n] = 0
	}
	l := uint32(2)
	if n > 0 {
		l += uint32(n) + 1
	}
	if path[0] == '@' || path[0] == 0 && l > 3 {
		path[0] = 0
		l-- // an abstract name has no trailing NUL
	}
	return l, nil
}

// PutSockaddr writes sa (IPv4, IPv6 or Unix) in the kernel's layout into
// raw and returns its length, or EINVAL (a Unix name too long) or
// EAFNOSUPPORT (another kind).
func PutSockaddr(sa syscall.Sockaddr, raw *unix.RawSockaddrAny) (uint32, error) {
	var a Addr
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		a = Addr{Family: Inet4, Port: uint16(sa.Port)}
		copy(a.IP[:], sa.Addr[:])
	case *syscall.SockaddrInet6:
		a = Addr{Family: Inet6, Port: uint16(sa.Port), IP: sa.Addr, Zone: sa.ZoneId}
	case *syscall.SockaddrUnix:
		a = Addr{Family: Unix, Name: sa.Name}
	default:
		return 0, syscall.EAFNOSUPPORT
	}
	return a.Put(raw)
}
