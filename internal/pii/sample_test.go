package pii

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// sampleBodies loads the complaint bodies shipped in data/complaints.
func sampleBodies(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "data", "complaints", "*.jsonl"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("sample complaints not found in data/complaints (err %v): the checkout is incomplete", err)
	}
	var bodies []string
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 1<<20), 1<<24)
		for sc.Scan() {
			var rec struct {
				Body string `json:"body"`
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				tb.Fatalf("%s: %v", name, err)
			}
			bodies = append(bodies, rec.Body)
		}
		if err := sc.Err(); err != nil {
			tb.Fatal(err)
		}
		f.Close()
	}
	return bodies
}

// TestSampleBodies runs the detector over the sample complaints, checks the
// span invariants and masking, and logs what it found per type. Set
// PII_DUMP=1 to print every detection with its context for review.
func TestSampleBodies(t *testing.T) {
	d := NewDetector()
	counts := map[Type]int{}
	dump := os.Getenv("PII_DUMP") != ""
	for _, body := range sampleBodies(t) {
		masked, spans := d.MaskText(body, TagPolicy{})
		checkSpans(t, body, spans)
		for _, sp := range spans {
			counts[sp.Type]++
			if strings.Contains(masked, sp.Text) {
				t.Errorf("masked body still contains %q", sp.Text)
			}
			if dump {
				r := []rune(body)
				t.Logf("%-12s %q   …%s⟦%s⟧%s…", sp.Type, sp.Text,
					string(r[max(0, sp.Start-20):sp.Start]), sp.Text, string(r[sp.End:min(len(r), sp.End+12)]))
			}
		}
	}
	types := make([]string, 0, len(counts))
	for ty, n := range counts {
		types = append(types, string(ty)+"="+itoa(n))
	}
	sort.Strings(types)
	t.Logf("detections in sample bodies: %s", strings.Join(types, " "))
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
