//go:build !linux

package stream

type fdWaiter struct{ fd int }

func newFDWaiter() *fdWaiter              { return nil }
func (*fdWaiter) wait(func(uintptr) bool) {}
func (*fdWaiter) interrupt()              {}
func (*fdWaiter) close()                  {}
