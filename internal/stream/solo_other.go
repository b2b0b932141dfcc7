//go:build !unix

package stream

import (
	"errors"
	"os"
)

func dupFile(int) (*os.File, error) { return nil, errors.ErrUnsupported }

func readOnce(int, []byte) (int, error) { return 0, errors.ErrUnsupported }

func recvNonblock(int, []byte) (int, error) { return 0, errors.ErrUnsupported }

func lingerOf(int) (int, bool) { return 0, false }
