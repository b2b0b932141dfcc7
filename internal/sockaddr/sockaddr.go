// Package sockaddr holds the socket address that ringnet's datagram
// sockets exchange between the public API and the loops, and its
// conversions: to and from the kernel's raw layout (Linux, where the
// loops read and write msghdrs themselves) and to and from the unix
// package's Sockaddr values (the other systems).
//
// It owns no socket and no state.
package sockaddr

// Family is an address's kind.
type Family uint8

// The kinds of address.
const (
	None  Family = iota // no address: an unnamed Unix sender
	Inet4               // AF_INET
	Inet6               // AF_INET6
	Unix                // AF_UNIX
)

// Addr is a socket address in a fixed-size form that costs no allocation
// to copy, except a Unix socket's name.
type Addr struct {
	Family Family
	Port   uint16   // Inet4, Inet6
	IP     [16]byte // Inet4: the first 4 bytes
	Zone   uint32   // Inet6: the scope, an interface index
	Name   string   // Unix: as the syscall package names it, "@..." for an abstract name
}
