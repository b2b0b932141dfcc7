//go:build !unix

package dgram

import (
	"errors"

	"github.com/ringnet/ringnet/internal/sockaddr"
)

// Where no loop runs these are never reached; they keep the package
// building everywhere.

const (
	msgTrunc  = 0x20
	msgCtrunc = 0x8
)

func copyControl(dst, src []byte, _ Options) (int, bool) {
	n := copy(dst, src)
	return n, n < len(src)
}

func discardControl([]byte, Options) {}

func closeFD(int) {}

func sendDirect(int, []byte, []byte, *sockaddr.Addr) (int, error) { return 0, errors.ErrUnsupported }
