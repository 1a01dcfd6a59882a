package validate

import (
	"bufio"
	"bytes"
	"os"
	"testing"

	"github.com/dure-platform/dure/internal/synth"
)

// BenchmarkCheck validates all sample lines per iteration.
func BenchmarkCheck(b *testing.B) {
	files := synth.SampleFiles(b)
	var lines [][]byte
	var size int64
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 1<<20), 1<<24)
		for sc.Scan() {
			lines = append(lines, bytes.Clone(sc.Bytes()))
			size += int64(len(sc.Bytes()))
		}
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		c := NewChecker(DefaultRules())
		for _, l := range lines {
			if _, rej := c.Check(l); rej != nil {
				b.Fatal(rej)
			}
		}
	}
}
