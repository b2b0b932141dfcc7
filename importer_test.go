package ringnet_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// importerMain is a program as a user writes it: it imports ringnet (and
// whatever extra blank imports a case adds), serves http.DefaultServeMux
// on a ringnet listener, and prints the status code and body of a GET of
// the path given as its argument.
const importerMain = `package main

import (
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/ringnet/ringnet"
%s)

func main() {
	ln, err := ringnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	defer ln.Close()
	go http.Serve(ln, nil)
	resp, err := http.Get("http://" + ln.Addr().String() + os.Args[1])
	if err != nil {
		fmt.Println("get:", err)
		os.Exit(1)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("%%d\n%%s", resp.StatusCode, body)
}
`

// goTool returns the go command that runs this test: go test puts its
// GOROOT/bin first in the test's PATH.
func goTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	require.NoError(t, err, "the go command is needed to build an importer")
	return p
}

// importerModule writes a fresh module that requires ringnet from this
// checkout (a replace directive), with main.go holding src, tidies it (the
// module proxy or cache supplies ringnet's requirements) and returns its
// directory and a function that runs the go command there.
func importerModule(t *testing.T, src string) (dir string, run func(args ...string) string) {
	t.Helper()
	root, err := filepath.Abs(".")
	require.NoError(t, err)
	dir = t.TempDir()
	gomod := fmt.Sprintf("module example.com/importer\n\ngo 1.26\n\nrequire github.com/ringnet/ringnet v0.0.0\n\nreplace github.com/ringnet/ringnet => %s\n", root)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644))
	gocmd := goTool(t)
	run = func(args ...string) string {
		t.Helper()
		cmd := exec.Command(gocmd, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), out)
		return string(out)
	}
	run("mod", "tidy")
	return dir, run
}

// Importing ringnet registers nothing global: a program that serves the
// default mux on a ringnet listener has no /debug/vars (the root package
// once imported expvar, which publishes the command line and memory
// statistics there). Importing the opt-in ringnet/stats/expvar does add
// it, which shows the check can fail.
func TestImportHasNoSideEffects(t *testing.T) {
	for _, tc := range []struct {
		name    string
		imports string
		path    string
		want    string
	}{
		{"ringnet alone: no /debug/vars", "", "/debug/vars", "404\n"},
		{"ringnet alone: nothing at /debug/ringnet", "", "/debug/ringnet", "404\n"},
		{"opt-in expvar: /debug/vars with ringnet", "\t_ \"github.com/ringnet/ringnet/stats/expvar\"\n", "/debug/vars", "200\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, run := importerModule(t, fmt.Sprintf(importerMain, tc.imports))
			bin := filepath.Join(dir, "importer")
			run("build", "-o", bin, ".")
			out, err := exec.Command(bin, tc.path).CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.True(t, strings.HasPrefix(string(out), tc.want), "GET %s: %s", tc.path, out)
			if tc.want == "200\n" {
				assert.Contains(t, string(out), `"ringnet": {"backend":`)
			}
		})
	}
}

// importerModules is every module that may be in the module graph of a
// program importing ringnet, besides the program and ringnet: what
// ringnet needs at run time, its tests' small helpers (the graph holds the
// requirements of ringnet's go.mod, tests' included), and what go-uring's
// own go.mod requires. Anything bigger belongs in a module of its own, as
// bench/ and nettest/ecosystem/ are.
var importerModules = map[string]string{
	"github.com/godzie44/go-uring":  "the io_uring binding the loop runs on",
	"github.com/libp2p/go-sockaddr": "go-uring's socket address conversions",
	"golang.org/x/sys":              "the system calls and constants of both backends",
	"golang.org/x/net":              "ipv4.Message, the type of UDPConn.ReadBatch (quic-go's batchConn); tests: nettest.TestConn and dnsmessage",
	"golang.org/x/crypto":           "required by x/net's go.mod (in the graph only: ringnet builds none of it)",
	"golang.org/x/term":             "required by x/net's go.mod (in the graph only)",
	"golang.org/x/text":             "required by x/net's go.mod (in the graph only)",
	"github.com/stretchr/testify":   "tests: assert and require",
	"go.yaml.in/yaml/v3":            "required by testify's go.mod",
	"go.uber.org/goleak":            "internal/leakcheck, every TestMain's goroutine check",
	"github.com/davecgh/go-spew":    "required by go-uring's go.mod (for its testify)",
	"github.com/pmezard/go-difflib": "required by go-uring's go.mod (for its testify)",
	"gopkg.in/yaml.v3":              "required by go-uring's go.mod (for its testify)",
}

// A program that imports ringnet gets in its module graph only ringnet and
// the modules of importerModules: not the benchmark's chart, gRPC or
// WebSocket, whose users are modules of their own.
func TestImporterModuleGraph(t *testing.T) {
	_, run := importerModule(t, fmt.Sprintf(importerMain, ""))
	want := map[string]bool{"example.com/importer": true, "github.com/ringnet/ringnet": true}
	for path := range importerModules {
		want[path] = true
	}
	var extra []string
	for _, line := range strings.Split(strings.TrimSpace(run("list", "-m", "all")), "\n") {
		path := strings.Fields(line)[0]
		if !want[path] {
			extra = append(extra, line)
		}
		delete(want, path)
	}
	assert.Empty(t, extra, "modules in an importer's graph that ringnet does not need")
	assert.Empty(t, want, "modules the allowed list names that the graph no longer holds: drop them from importerModules")
}
