//go:build linux

package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSplice(t *testing.T) {
	block := beginMarker + "\nnew table\n" + endMarker + "\n"
	design := designHeading + "\n\nhand-written findings\n"
	tests := []struct {
		name, doc, want string
	}{
		{"replaces between markers",
			"# B\n\nintro\n\n" + beginMarker + "\nold table\n" + endMarker + "\n\n" + design,
			"# B\n\nintro\n\n" + block + "\n" + design},
		{"inserts before design experiments",
			"# B\n\nintro\n\n" + design,
			"# B\n\nintro\n\n" + block + "\n" + design},
		{"appends without markers or design section",
			"# B\n\nintro\n",
			"# B\n\nintro\n\n" + block},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, splice(tt.doc, block))
		})
	}
	t.Run("new file gets a title", func(t *testing.T) {
		got := splice("", block)
		assert.True(t, strings.HasPrefix(got, "# "))
		assert.True(t, strings.HasSuffix(got, block))
	})
}
