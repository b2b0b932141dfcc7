package expvar_test

import (
	"encoding/json"
	stdexpvar "expvar"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ringnet/ringnet"
	"github.com/ringnet/ringnet/internal/leakcheck"
	"github.com/ringnet/ringnet/stats"
	_ "github.com/ringnet/ringnet/stats/expvar"
)

func TestMain(m *testing.M) {
	leakcheck.Main(m, leakcheck.Config{Name: "stats/expvar"})
}

// Importing the package publishes "ringnet", which expvar's /debug/vars
// then serves: the opt-in the root package no longer makes for everyone.
func TestPublished(t *testing.T) {
	v := stdexpvar.Get("ringnet")
	require.NotNil(t, v, "importing stats/expvar publishes ringnet")
	var snap stats.Snapshot
	require.NoError(t, json.Unmarshal([]byte(v.String()), &snap))
	assert.Equal(t, ringnet.Backend(), snap.Backend)

	rec := httptest.NewRecorder()
	http.DefaultServeMux.ServeHTTP(rec, httptest.NewRequest("GET", "/debug/vars", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	var vars map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &vars))
	assert.Contains(t, vars, "ringnet")
}
