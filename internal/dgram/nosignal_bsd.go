//go:build freebsd || netbsd || openbsd || dragonfly

package dgram

import "golang.org/x/sys/unix"

// sendNoSignal keeps a send on a shut socket from raising SIGPIPE.
const sendNoSignal = unix.MSG_NOSIGNAL
