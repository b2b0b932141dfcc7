//go:build linux

package main

import (
	"fmt"
	"strings"
)

// impl is one listener implementation under test: how the server is told
// to use it.
type impl struct {
	name   string   // the name in flags, tables and the chart
	server string   // the server's -impl
	env    []string // extra environment of the server process
	// peerRows limits the implementation to the workloads marked peer.
	peerRows bool
}

// runs reports whether im runs workload w.
func (im impl) runs(w workload) bool { return !im.peerRows || w.peer }

// baseline is the implementation every ratio is taken against.
const baseline = "stdlib"

// impls lists the implementations, baseline first: ringnet on io_uring,
// ringnet forced onto its poll fallback, and go-uring's net listener, which
// runs only the rows the harness had before issue 21 (hello, echo of 128 B
// and 16 KiB with the harness's client, ping-pong, idle): it is the peer
// the README compares with, not a listener users are offered.
var impls = []impl{
	{name: baseline, server: "stdlib"},
	{name: "ringnet", server: "ringnet", env: []string{"RINGNET_BACKEND=io_uring"}},
	{name: "poll", server: "ringnet", env: []string{"RINGNET_BACKEND=poll"}},
	{name: "gouring", server: "gouring", peerRows: true},
}

// implNames returns the names of all implementations.
func implNames() []string {
	var out []string
	for _, im := range impls {
		out = append(out, im.name)
	}
	return out
}

// pickImpls returns the implementations named in the comma-separated list,
// in the list's order.
func pickImpls(list string) ([]impl, error) {
	var out []impl
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, im := range impls {
			if im.name == name {
				out = append(out, im)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown implementation %q (have %s)", name, strings.Join(implNames(), ", "))
		}
	}
	return out, nil
}
