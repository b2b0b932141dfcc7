//go:build aix || darwin || dragonfly || freebsd || netbsd || openbsd || solaris

package wake

import (
	"errors"
	"os"
)

// newEventfd reports that eventfd is unavailable: this package supports it
// on Linux only.
func newEventfd() (int, error) {
	return -1, os.NewSyscallError("eventfd", errors.ErrUnsupported)
}
