// Package stats serves ringnet's event-loop counters over HTTP, for a
// program to mount where it chooses:
//
//	mux.Handle("GET /debug/ringnet", stats.Handler())
//
// The handler answers with a small HTML page for people, or with JSON when
// the request asks for it (?format=json, or an Accept header naming
// application/json). The package registers nothing itself: importing it
// adds no handler to http.DefaultServeMux and publishes no expvar. For
// expvar, import github.com/ringnet/ringnet/stats/expvar for its side
// effect, the way net/http/pprof is imported.
//
// It reads ringnet.Backend, ringnet.BackendReason and ringnet.Stats only;
// it never touches a loop.
package stats

import (
	"encoding/json"
	"html/template"
	"net/http"
	"reflect"
	"strings"

	"github.com/ringnet/ringnet"
)

// Snapshot is what the handler reports: the backend that serves, why it is
// not io_uring (empty when it is), and the counters of every running loop.
type Snapshot struct {
	Backend string              `json:"backend"`
	Reason  string              `json:"reason,omitempty"`
	Loops   []ringnet.LoopStats `json:"loops"`
}

// Take reads the backend and every running loop's counters now.
func Take() Snapshot {
	loops := ringnet.Stats()
	if loops == nil {
		loops = []ringnet.LoopStats{} // JSON [] rather than null
	}
	return Snapshot{Backend: ringnet.Backend(), Reason: ringnet.BackendReason(), Loops: loops}
}

// Handler returns an http.Handler that serves a Snapshot taken at each
// request: JSON when the request asks for it (?format=json, or an Accept
// header naming application/json), otherwise an HTML page with one row
// per loop. It answers GET and HEAD; other methods get 405.
func Handler() http.Handler { return http.HandlerFunc(serve) }

func serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	snap := Take()
	w.Header().Set("Cache-Control", "no-store")
	if wantsJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(snap) // a write error means the client left
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	page.Execute(w, table(snap)) // a write error means the client left
}

func wantsJSON(r *http.Request) bool {
	if f := r.URL.Query().Get("format"); f != "" {
		return f == "json"
	}
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// pageData is the Snapshot laid out as a table: one column per LoopStats
// field, so that a counter added to LoopStats shows without a change here.
type pageData struct {
	Backend, Reason string
	Columns         []string
	Rows            [][]any
}

func table(s Snapshot) pageData {
	d := pageData{Backend: s.Backend, Reason: s.Reason}
	fields := reflect.VisibleFields(reflect.TypeFor[ringnet.LoopStats]())
	for _, f := range fields {
		d.Columns = append(d.Columns, f.Name)
	}
	for _, l := range s.Loops {
		v := reflect.ValueOf(l)
		row := make([]any, len(fields))
		for i, f := range fields {
			row[i] = v.FieldByIndex(f.Index).Interface()
		}
		d.Rows = append(d.Rows, row)
	}
	return d
}

var page = template.Must(template.New("stats").Parse(`<!doctype html>
<meta charset="utf-8">
<title>ringnet loops</title>
<style>table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style>
<h1>ringnet</h1>
<p>Backend: <b>{{.Backend}}</b>{{if .Reason}} ({{.Reason}}){{end}}. {{len .Rows}} running loop(s). <a href="?format=json">JSON</a></p>
{{if .Rows}}<table>
<tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>{{end}}
`))
