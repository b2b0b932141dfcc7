package stats_test

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ringnet/ringnet"
	"github.com/ringnet/ringnet/internal/leakcheck"
	"github.com/ringnet/ringnet/stats"
)

func TestMain(m *testing.M) {
	leakcheck.Main(m, leakcheck.Config{Name: "stats", Checks: []func() error{noLoops}})
}

// noLoops waits (a Close may linger) until no loop runs.
func noLoops() error {
	return leakcheck.Within(10*time.Second, func() error {
		if st := ringnet.Stats(); len(st) != 0 {
			return fmt.Errorf("%d loops still run after the tests", len(st))
		}
		return nil
	})
}

func get(t *testing.T, method, target, accept string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	stats.Handler().ServeHTTP(rec, req)
	return rec
}

func TestHandler(t *testing.T) {
	ln, err := ringnet.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	running := ringnet.Stats()
	require.NotEmpty(t, running, "a listener runs loops where a backend has them")

	for _, tc := range []struct {
		name, method, target, accept string
		status                       int
		json                         bool
	}{
		{"page", "GET", "/debug/ringnet", "", http.StatusOK, false},
		{"page for a browser", "GET", "/debug/ringnet", "text/html,application/xhtml+xml,*/*;q=0.8", http.StatusOK, false},
		{"json by query", "GET", "/debug/ringnet?format=json", "", http.StatusOK, true},
		{"json by Accept", "GET", "/debug/ringnet", "application/json", http.StatusOK, true},
		{"query wins over Accept", "GET", "/debug/ringnet?format=html", "application/json", http.StatusOK, false},
		{"head", "HEAD", "/debug/ringnet", "", http.StatusOK, false},
		{"post refused", "POST", "/debug/ringnet", "", http.StatusMethodNotAllowed, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(t, tc.method, tc.target, tc.accept)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			if tc.status != http.StatusOK {
				assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
				return
			}
			if tc.json {
				assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
				var snap stats.Snapshot
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &snap))
				assert.Equal(t, ringnet.Backend(), snap.Backend)
				assert.Equal(t, ringnet.BackendReason(), snap.Reason)
				require.Len(t, snap.Loops, len(running))
				for _, l := range snap.Loops {
					assert.Equal(t, snap.Backend, l.Backend)
				}
				return
			}
			assert.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
			body := rec.Body.String()
			assert.Contains(t, body, "<b>"+ringnet.Backend()+"</b>")
			for _, col := range []string{"<th>Loop</th>", "<th>Conns</th>", "<th>BytesIn</th>"} {
				assert.Contains(t, body, col)
			}
			assert.Contains(t, body, fmt.Sprintf("%d running loop(s)", len(running)))
		})
	}
}

// With no loop running, the JSON says so with an empty list, not null.
func TestHandlerNoLoops(t *testing.T) {
	require.NoError(t, noLoops())
	rec := get(t, "GET", "/?format=json", "")
	require.Equal(t, http.StatusOK, rec.Code)
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &raw))
	assert.JSONEq(t, "[]", string(raw["loops"]))
}

// The package is meant to be mounted by the user: importing it registers
// nothing on the default mux.
func TestRegistersNothing(t *testing.T) {
	for _, path := range []string{"/debug/vars", "/debug/ringnet", "/"} {
		rec := httptest.NewRecorder()
		http.DefaultServeMux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		assert.Equal(t, http.StatusNotFound, rec.Code, path)
	}
}

// Handler is mounted where the program chooses, on the mux it serves.
func ExampleHandler() {
	ln, err := ringnet.Listen("tcp", "127.0.0.1:8080")
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /debug/ringnet", stats.Handler())
	log.Fatal(http.Serve(ln, mux))
}
