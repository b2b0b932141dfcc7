//go:build linux && !race

package wake

// raceEnabled reports whether the race detector is on; stress tests scale
// down under it.
const raceEnabled = false
