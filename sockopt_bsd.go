//go:build dragonfly || freebsd || netbsd

package ringnet

import "golang.org/x/sys/unix"

// tcpKeepIdle is the option for the idle time before the first keep-alive
// probe.
const tcpKeepIdle = unix.TCP_KEEPIDLE
