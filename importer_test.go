package ringnet_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

// goTool returns the go command that runs this test.
func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	_, err := os.Stat(p)
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
