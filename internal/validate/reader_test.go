package validate

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/korean"
)

func readAll(t *testing.T, r io.Reader, f Format) (records []string, errs []*RecordError, enc Encoding) {
	t.Helper()
	rr, err := NewRecordReader(r, f, 1<<10)
	require.NoError(t, err)
	for {
		raw, _, err := rr.Next()
		if errors.Is(err, io.EOF) {
			return records, errs, rr.Encoding()
		}
		var re *RecordError
		if errors.As(err, &re) {
			errs = append(errs, re)
			continue
		}
		require.NoError(t, err)
		records = append(records, string(raw))
	}
}

const sampleJSONL = `{"id":"a-1","received_at":"2024-01-02","title":"버스 노선","body":"버스 노선을 늘려 주세요","department":"교통/건축/국토"}`

func TestJSONLinesUTF8AndCP949(t *testing.T) {
	cp949, err := korean.EUCKR.NewEncoder().Bytes([]byte(sampleJSONL + "\n\n" + sampleJSONL))
	require.NoError(t, err)
	tests := []struct {
		name string
		in   []byte
		enc  Encoding
	}{
		{"utf-8", []byte(sampleJSONL + "\n\n" + sampleJSONL), EncodingUTF8},
		{"utf-8 with BOM and CRLF", []byte("\xEF\xBB\xBF" + sampleJSONL + "\r\n" + sampleJSONL + "\r\n"), EncodingUTF8},
		{"cp949", cp949, EncodingCP949},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, errs, enc := readAll(t, bytes.NewReader(tt.in), FormatJSONL)
			assert.Equal(t, tt.enc, enc)
			assert.Empty(t, errs)
			require.Len(t, recs, 2)
			for _, r := range recs {
				_, rej := NewChecker(DefaultRules()).Check([]byte(strings.TrimSuffix(r, "\r")))
				assert.Nil(t, rej, "decoded record must be valid: %s", r)
			}
		})
	}
}

func TestJSONLinesTooLongRecordIsSkippedNotFatal(t *testing.T) {
	in := sampleJSONL + "\n" + strings.Repeat("x", 5000) + "\n" + sampleJSONL + "\n"
	recs, errs, _ := readAll(t, strings.NewReader(in), FormatJSONL)
	assert.Len(t, recs, 2)
	require.Len(t, errs, 1)
	assert.Equal(t, ReasonTooLong, errs[0].Reason)
	assert.Equal(t, 2, errs[0].Line)
}

func TestCSV(t *testing.T) {
	in := "id,received_at,title,body,department\n" +
		"c-1,2024-01-02,\"쓰레기, 수거\",\"수거 일정이 바뀌었나요?\",안전/환경\n" +
		"c-2,2024-01-03,짧은 행\n" +
		"c-3,2024-01-04,도서관,\"도서관 개관 시간을 늘려 주세요\",문화/예술/체육/언론\n"
	cp949, err := korean.EUCKR.NewEncoder().Bytes([]byte(in))
	require.NoError(t, err)
	for name, data := range map[string][]byte{"utf-8": []byte(in), "cp949": cp949} {
		t.Run(name, func(t *testing.T) {
			recs, errs, _ := readAll(t, bytes.NewReader(data), FormatCSV)
			require.Len(t, recs, 2)
			assert.Contains(t, recs[0], `"title":"쓰레기, 수거"`)
			require.Len(t, errs, 1)
			assert.Equal(t, ReasonBadCSV, errs[0].Reason)
			assert.Equal(t, 3, errs[0].Line)
		})
	}
}

func TestCSVHeaderMustNameTheFields(t *testing.T) {
	_, err := NewRecordReader(strings.NewReader("id,title\n1,x\n"), FormatCSV, 1<<10)
	assert.ErrorContains(t, err, "received_at")
}

func TestFormatOf(t *testing.T) {
	assert.Equal(t, FormatCSV, FormatOf("uploads/2024/minwon.CSV"))
	assert.Equal(t, FormatJSONL, FormatOf("uploads/a.jsonl"))
}

func FuzzRecordReader(f *testing.F) {
	f.Add([]byte(sampleJSONL), false)
	f.Add([]byte("id,received_at,title,body,department\n1,2024-01-01,\"a\"\"b\",c,행정\n"), true)
	f.Add([]byte{0xb0, 0xa1, '\n', 0xff}, false)
	f.Fuzz(func(t *testing.T, data []byte, csvFormat bool) {
		format := FormatJSONL
		if csvFormat {
			format = FormatCSV
		}
		rr, err := NewRecordReader(bytes.NewReader(data), format, 1<<10)
		if err != nil {
			return
		}
		for i := 0; i < len(data)+2; i++ {
			raw, _, err := rr.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			var re *RecordError
			if err != nil && !errors.As(err, &re) {
				return
			}
			if err == nil && len(raw) > 1<<10 && format == FormatJSONL {
				t.Fatalf("record of %d bytes passed the 1 KiB bound", len(raw))
			}
		}
		t.Fatalf("reader did not reach the end")
	})
}
