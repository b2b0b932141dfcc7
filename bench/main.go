//go:build linux

// Command bench is the benchmark harness of ringnet. It builds
// bench/server once, runs every workload against every listener
// implementation (the standard library, ringnet, go-uring), interleaving
// the implementations within each repetition so that their ratios are
// measured under the same conditions, and writes docs/bench.md (the part
// between its bench markers), docs/bench.png and docs/bench.json.
//
//	go run ./bench            # the full run, about 23 minutes on 2 CPUs
//	go run ./bench -quick     # a smoke run of about 8 minutes
//	go run ./bench -big       # the big-machine workloads (GOMAXPROCS 2, 16, 64), about 7 minutes
//	go run ./bench -h         # flags, workloads, and how to install wrk, h2load and perf
//	go run ./bench runs A/bench.json B/bench.json ...  # medians over several runs
//
// The workloads are what users run: net/http hello at 1 to 1,000
// connections, JSON, bodies of 16 and 256 KiB, uploads of 64 KiB and
// 1 MiB, a new connection per request, HTTPS (keep-alive and a handshake
// per request), HTTP/2 over TLS and h2c, gRPC unary and streaming, TCP
// echo of 128 B to 256 KiB at 50 and 1,000 connections with two different
// clients, ping-pong and idle connections; each free and with server and
// load generator pinned to a CPU each (go run ./bench -h lists them).
//
// Every server runs as its own process, under perf stat when perf is
// installed, and is stopped after its run, also when the harness fails or
// is interrupted. HTTP/1.1 load comes from wrk, HTTP/2 from h2load, and
// the echo and gRPC load from this same program re-executed as
// "bench client" (see client.go and grpcclient.go).
//
// The harness is a module of its own (github.com/ringnet/ringnet/bench,
// with bench/server, bench/soak and bench/idlemem), so that its chart's
// dependencies stay out of the module graph of programs that import
// ringnet; the go.work at the repository root makes the commands above
// work from there.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "client" {
		os.Exit(clientMain(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "runs" {
		os.Exit(runsMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	cfg, err := parseConfig(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run measures and writes the report.
func run(ctx context.Context, cfg *config) error {
	started := time.Now()
	all := workloads
	if cfg.big {
		all = bigWorkloads
	}
	var wls []workload
	needs := map[kind]bool{}
	for _, w := range all {
		if cfg.only.MatchString(w.name) {
			wls = append(wls, w)
			needs[w.kind] = true
		}
	}
	if len(wls) == 0 {
		return fmt.Errorf("no workload matches -only %q", cfg.only)
	}
	tmp, err := os.MkdirTemp("", "ringnet-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	h := &harness{cfg: cfg, bin: filepath.Join(tmp, "server"), tmp: tmp, scripts: map[string]string{},
		toolErr: map[kind]error{wrkLoad: wrkCheck(), h2Load: h2loadCheck()}}
	if err := buildServer(ctx, h.bin); err != nil {
		return err
	}
	if !cfg.perf {
		h.perfNote = "run with -perf=false"
	} else if err := perfCheck(ctx); err != nil {
		h.perfNote = err.Error()
	}
	var toolNotes []string
	for k, err := range h.toolErr {
		if err != nil && needs[k] {
			toolNotes = append(toolNotes, err.Error())
		}
	}
	slices.Sort(toolNotes)
	for _, note := range append([]string{h.perfNote}, toolNotes...) {
		if note != "" {
			fmt.Fprintln(os.Stderr, "bench: warning:", note)
		}
	}

	runs := h.runAll(ctx, wls)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted after %d runs; nothing written", len(runs))
	}
	names := make([]string, len(wls))
	for i, w := range wls {
		names[i] = w.name
	}
	var chosen []string
	for _, im := range cfg.impls {
		chosen = append(chosen, im.name)
	}
	rp := &report{
		Command:   commandLine(cfg.args),
		Started:   started.UTC(),
		Runtime:   time.Since(started).Round(time.Second).String(),
		Machine:   probeMachine(ctx),
		Reps:      cfg.reps,
		RunSecs:   cfg.dur.Seconds(),
		WarmSecs:  cfg.warm.Seconds(),
		Impls:     chosen,
		Big:       cfg.big,
		PerfNote:  h.perfNote,
		Summary:   summarize(runs, names, chosen),
		Runs:      runs,
		workloads: wls,
		toolNotes: toolNotes,
	}
	return rp.write(cfg.out, cfg.impls)
}

// buildServer builds bench/server to bin.
func buildServer(ctx context.Context, bin string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/ringnet/ringnet/bench/server").CombinedOutput()
	if err != nil {
		return fmt.Errorf("building the server: %v\n%s", err, out)
	}
	return nil
}

// write writes bench.png, bench.md and bench.json to dir (for -big, no
// chart, its own part of bench.md and big.json), and prints the table.
func (rp *report) write(dir string, impls []impl) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := "bench.json"
	if rp.Big {
		name = "big.json"
	} else if err := writeChart(filepath.Join(dir, "bench.png"), rp.Summary, rp.workloads, impls); err != nil {
		fmt.Fprintln(os.Stderr, "bench: no chart:", err)
	} else {
		rp.chart = "bench.png"
	}
	md := filepath.Join(dir, "bench.md")
	old, err := os.ReadFile(md)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	block := rp.markdown()
	begin, end := rp.markers()
	if err := os.WriteFile(md, []byte(splice(string(old), block, begin, end)), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rp, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, name), append(js, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Print(block)
	files := name
	if rp.chart != "" {
		files = rp.chart + " and " + name
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s, %s in %s (%s)\n", md, files, dir, rp.Runtime)
	return nil
}

// commandLine is how the harness was invoked, as one would type it.
func commandLine(args []string) string {
	parts := []string{"go", "run", "./bench"}
	for _, a := range args {
		if strings.ContainsAny(a, " \t'\"$\\|&;()<>*?[]{}") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}
