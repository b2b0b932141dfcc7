package stream

import (
	"testing"

	"github.com/ringnet/ringnet/internal/leakcheck"
)

// TestMain fails the package if a test leaves a goroutine behind (a
// blocked Read or Write that a deadline or Close should have ended) or a
// descriptor open (internal/leakcheck).
func TestMain(m *testing.M) { leakcheck.Main(m, leakcheck.Config{Name: "stream"}) }
