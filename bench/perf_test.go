//go:build linux

package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParsePerf(t *testing.T) {
	out := `# started on Thu Nov 26 10:06:02 2026

3070,,raw_syscalls:sys_enter,30862472,100.00,,
0,,syscalls:sys_enter_io_uring_enter,30862472,100.00,,Events disabled
12,,context-switches,30862472,100.00,,
Events enabled
Events disabled
`
	got, err := parsePerf(out)
	require.NoError(t, err)
	assert.Equal(t, map[string]uint64{evSyscalls: 3070, evEnters: 0, evSwitches: 12}, got)

	_, err = parsePerf("<not counted>,,raw_syscalls:sys_enter,0,0.00,,\n")
	assert.Error(t, err)
	_, err = parsePerf("5,,raw_syscalls:sys_enter,1,100.00,,\n")
	assert.Error(t, err, "missing events")
}
