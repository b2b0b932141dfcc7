package stream

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind (a
// blocked Read or Write that a deadline or Close should have ended).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
