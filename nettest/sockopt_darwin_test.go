package nettest_test

import "golang.org/x/sys/unix"

// tcpKeepIdle is the option holding the idle time, in seconds, before the
// first keep-alive probe: TCP_KEEPALIVE on Darwin (net sets it there).
const tcpKeepIdle = unix.TCP_KEEPALIVE
