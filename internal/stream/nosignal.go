//go:build linux || freebsd || netbsd || openbsd || dragonfly

package stream

import "golang.org/x/sys/unix"

// sendNoSignal keeps a send to a closed peer from raising SIGPIPE.
const sendNoSignal = unix.MSG_NOSIGNAL
