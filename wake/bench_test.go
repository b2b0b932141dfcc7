//go:build linux

package wake

import "testing"

// BenchmarkNotifyAwake measures Notify while the loop is awake: it must
// coalesce every call and never touch the descriptor.
func BenchmarkNotifyAwake(b *testing.B) {
	h := newHandle(b, Eventfd)
	c := h.Carrier()
	var s Signal
	b.ReportAllocs()
	for b.Loop() {
		s.Notify(c)
	}
	b.StopTimer()
	if st := s.Stats(); st.Written != 0 {
		b.Fatalf("awake Notify wrote %d times", st.Written)
	}
	if n, err := h.Drain(); err != nil || n != 0 {
		b.Fatalf("awake Notify left %d pending wakes (err %v)", n, err)
	}
}

// BenchmarkNotifyAwakeParallel is BenchmarkNotifyAwake with concurrent
// producers sharing one Signal.
func BenchmarkNotifyAwakeParallel(b *testing.B) {
	h := newHandle(b, Eventfd)
	c := h.Carrier()
	var s Signal
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Notify(c)
		}
	})
	if st := s.Stats(); st.Written != 0 {
		b.Fatalf("awake Notify wrote %d times", st.Written)
	}
}

func BenchmarkWakeEventfd(b *testing.B) { benchmarkWake(b, Eventfd) }

func BenchmarkWakePipe(b *testing.B) { benchmarkWake(b, Pipe) }

// benchmarkWake measures Wake (one write system call), draining now and
// then so that the pipe does not sit full and measure only EAGAIN.
func benchmarkWake(b *testing.B, kind Kind) {
	h := newHandle(b, kind)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		h.Wake()
		if i++; i%4096 == 0 {
			if _, err := h.Drain(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
