//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package fallback

import "golang.org/x/sys/unix"

// spliceFrom is Linux's: elsewhere the caller copies from a socket.
func (c *conn) spliceFrom(int, int64) (int64, error) { return 0, unix.EINVAL }
