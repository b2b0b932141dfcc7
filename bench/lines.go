//go:build linux

package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"time"
)

// lineFeed is an io.Writer for a child's standard output that hands each
// complete line to whoever waits in next, and keeps the text for error
// messages.
type lineFeed struct {
	mu      sync.Mutex
	partial []byte
	lines   chan string
	all     bytes.Buffer
}

func newLineFeed() *lineFeed { return &lineFeed{lines: make(chan string, 64)} }

// Write splits p into lines. A line that nobody waits for while 64 others
// are queued is dropped from the feed but kept in the text.
func (f *lineFeed) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.all.Len() < 1<<16 {
		f.all.Write(p)
	}
	f.partial = append(f.partial, p...)
	for {
		i := bytes.IndexByte(f.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		select {
		case f.lines <- string(f.partial[:i]):
		default:
		}
		f.partial = f.partial[i+1:]
	}
}

// next returns the next line, or an error once timeout passes or done is
// closed first.
func (f *lineFeed) next(timeout time.Duration, done <-chan struct{}) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case line := <-f.lines:
		return line, nil
	case <-done:
		// The process exited; a line it wrote last may still be queued.
		select {
		case line := <-f.lines:
			return line, nil
		default:
			return "", fmt.Errorf("exited")
		}
	case <-t.C:
		return "", fmt.Errorf("no output after %v", timeout)
	}
}

// text returns the first 64 KiB written.
func (f *lineFeed) text() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.all.String()
}

// tail returns the last few lines written to a capture, for error messages.
func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}
