package wake

import (
	"testing"

	"github.com/ringnet/ringnet/internal/leakcheck"
)

// TestMain checks, after the package's tests, that no goroutine is left and
// that the process holds no more file descriptors than before the tests:
// every eventfd and pipe a Handle opened is closed (internal/leakcheck).
func TestMain(m *testing.M) {
	leakcheck.Main(m, leakcheck.Config{Name: "wake"})
}
