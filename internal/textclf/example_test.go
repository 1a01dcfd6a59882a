package textclf

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadJSONL(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    []Example
		wantErr string
	}{
		{
			name: "valid lines, extra fields and blank lines",
			input: `{"id":"a","received_at":"2019-04-30","title":"T1","body":"B1","department":"교통"}

{"title":"T2","body":"B2","department":" 기타 "}
`,
			want: []Example{{"T1", "B1", "교통"}, {"T2", "B2", "기타"}},
		},
		{name: "empty input", input: "", want: nil},
		{name: "title only", input: `{"title":"T","department":"기타"}`, want: []Example{{"T", "", "기타"}}},
		{
			name:    "malformed JSON names its line",
			input:   "{\"title\":\"T\",\"body\":\"B\",\"department\":\"x\"}\n{\"title\": oops}\n",
			wantErr: "line 2",
		},
		{name: "missing department", input: `{"title":"T","body":"B"}`, wantErr: "line 1: missing department"},
		{name: "blank department", input: `{"title":"T","body":"B","department":"  "}`, wantErr: "missing department"},
		{name: "no text", input: `{"department":"기타"}`, wantErr: "missing both title and body"},
		{name: "not an object", input: `[1,2]`, wantErr: "line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadJSONL(strings.NewReader(tt.input))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestReadJSONLSampleData(t *testing.T) {
	all := loadSample(t)
	assert.Len(t, all, 2906)
	labels := map[string]int{}
	for _, ex := range all {
		labels[ex.Label]++
	}
	assert.Len(t, labels, 17)
}
