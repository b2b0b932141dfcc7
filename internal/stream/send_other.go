//go:build !unix

package stream

import "errors"

// sendNonblock is never reached where no loop runs.
func sendNonblock(int, []byte) (int, error) { return 0, errors.ErrUnsupported }

// peerGone is never reached where no loop runs.
func (s *Stream) peerGone() bool { return false }
