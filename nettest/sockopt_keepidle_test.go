//go:build linux || freebsd || netbsd || dragonfly

package nettest_test

import "golang.org/x/sys/unix"

// tcpKeepIdle is the option holding the idle time, in seconds, before the
// first keep-alive probe.
const tcpKeepIdle = unix.TCP_KEEPIDLE
