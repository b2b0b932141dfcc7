package ringnet

import (
	"net"
	"strconv"
	"sync"
	"time"
)

// zones maps IPv6 zones (interface names) to interface indexes and back,
// as net's own cache does: refreshed at most once a minute, or at once for
// a name or index it does not know yet, so that a datagram's address costs
// no system call.
var zones struct {
	sync.RWMutex
	fetched time.Time
	toIndex map[string]int
	toName  map[int]string
}

// updateZones reloads the interface table if it is older than a minute,
// or if forced; it reports whether it did.
func updateZones(force bool) bool {
	zones.Lock()
	defer zones.Unlock()
	now := time.Now()
	if !force && zones.fetched.After(now.Add(-time.Minute)) {
		return false
	}
	zones.fetched = now
	ift, err := net.Interfaces()
	if err != nil {
		return false
	}
	zones.toIndex = make(map[string]int, len(ift))
	zones.toName = make(map[int]string, len(ift))
	for _, ifi := range ift {
		if ifi.Name != "" {
			zones.toIndex[ifi.Name] = ifi.Index
			if _, ok := zones.toName[ifi.Index]; !ok {
				zones.toName[ifi.Index] = ifi.Name
			}
		}
	}
	return true
}

// zoneName is the zone of interface index: its name, or the number when
// no interface has it, as net names it.
func zoneName(index int) string {
	if index == 0 {
		return ""
	}
	updated := updateZones(false)
	zones.RLock()
	name, ok := zones.toName[index]
	zones.RUnlock()
	if !ok && !updated {
		updateZones(true)
		zones.RLock()
		name, ok = zones.toName[index]
		zones.RUnlock()
	}
	if !ok {
		name = strconv.Itoa(index)
	}
	return name
}

// zoneIndex is the interface index zone names: an interface's name, or a
// number (its leading digits, as net reads it).
func zoneIndex(zone string) uint32 {
	if zone == "" {
		return 0
	}
	updated := updateZones(false)
	zones.RLock()
	index, ok := zones.toIndex[zone]
	zones.RUnlock()
	if !ok && !updated {
		updateZones(true)
		zones.RLock()
		index, ok = zones.toIndex[zone]
		zones.RUnlock()
	}
	if !ok {
		index = 0
		for i := 0; i < len(zone) && '0' <= zone[i] && zone[i] <= '9'; i++ {
			index = index*10 + int(zone[i]-'0')
			if index >= 0xFFFFFF {
				index = 0xFFFFFF // where net's dtoi stops
				break
			}
		}
	}
	return uint32(index)
}
