//go:build linux

package loop

// For the external benchmarks (bench_packet_test.go), which run through
// the root package.
var (
	RecvMultishot = &recvMultishot
	SendMode      = &sendMode
)

const (
	SendDirectWhenAsleep = sendDirectWhenAsleep
	SendAlwaysDirect     = sendAlwaysDirect
	SendAlwaysLoop       = sendAlwaysLoop
)
