//go:build unix && !linux && !freebsd && !netbsd && !openbsd && !dragonfly

package dgram

// sendNoSignal: darwin and others have no MSG_NOSIGNAL; the loop sets
// SO_NOSIGPIPE on the socket instead.
const sendNoSignal = 0
