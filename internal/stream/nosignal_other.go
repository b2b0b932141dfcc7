//go:build unix && !linux && !freebsd && !netbsd && !openbsd && !dragonfly

package stream

// sendNoSignal: darwin and others have no MSG_NOSIGNAL; Go's runtime turns
// SIGPIPE on a socket into an EPIPE error anyway.
const sendNoSignal = 0
