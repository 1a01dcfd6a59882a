package validate

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dure-platform/dure/internal/synth"
)

const body = "어린이집 앞 도로에 과속방지턱을 설치해 주세요. 아이들이 위험합니다."

// line builds a JSON line from a valid record with some fields replaced;
// a nil value drops the field.
func line(overrides map[string]any) []byte {
	m := map[string]any{
		"id": "suwon-00001", "received_at": "2019-04-30", "title": "과속방지턱 설치 요청",
		"body": body, "department": "교통/건축/국토",
	}
	for k, v := range overrides {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func fixedChecker() *Checker {
	c := NewChecker(DefaultRules())
	c.now = func() time.Time { return time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC) }
	return c
}

func TestCheckAccepts(t *testing.T) {
	tests := []struct {
		name string
		line []byte
		want Record
	}{
		{"plain", line(nil), Record{ID: "suwon-00001", ReceivedAt: "2019-04-30", Title: "과속방지턱 설치 요청", Body: body, Department: "교통/건축/국토"}},
		{"BOM, CRLF and unknown fields", append([]byte("\uFEFF"), append(line(map[string]any{"extra": 1}), '\r', '\n')...),
			Record{ID: "suwon-00001", ReceivedAt: "2019-04-30", Title: "과속방지턱 설치 요청", Body: body, Department: "교통/건축/국토"}},
		{"NFD department and padded fields are normalised",
			line(map[string]any{"department": "\u1100\u1175\u1110\u1161", "title": "  제목 \u200b", "id": " a-1 "}),
			Record{ID: "a-1", ReceivedAt: "2019-04-30", Title: "제목", Body: body, Department: "기타"}},
		{"short body at the limit", line(map[string]any{"body": "법을 지켜"}),
			Record{ID: "suwon-00001", ReceivedAt: "2019-04-30", Title: "과속방지턱 설치 요청", Body: "법을 지켜", Department: "교통/건축/국토"}},
		{"leap day", line(map[string]any{"received_at": "2016-02-29"}),
			Record{ID: "suwon-00001", ReceivedAt: "2016-02-29", Title: "과속방지턱 설치 요청", Body: body, Department: "교통/건축/국토"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, rej := fixedChecker().Check(tt.line)
			require.Nil(t, rej)
			assert.Equal(t, tt.want, rec)
		})
	}
}

func TestCheckRejects(t *testing.T) {
	tests := []struct {
		name   string
		line   []byte
		reason Reason
		field  string
	}{
		{"empty line", []byte(""), ReasonBadJSON, ""},
		{"not JSON", []byte("id,title,body"), ReasonBadJSON, ""},
		{"array", []byte(`["a"]`), ReasonBadJSON, ""},
		{"null", []byte(`null`), ReasonBadJSON, ""},
		{"truncated", []byte(`{"id": "a", "title": "제목`), ReasonBadJSON, ""},
		{"trailing data", append(line(nil), []byte(` {}`)...), ReasonBadJSON, ""},
		{"number id", line(map[string]any{"id": 17}), ReasonBadJSON, "id"},
		{"object body", line(map[string]any{"body": map[string]string{"text": "x"}}), ReasonBadJSON, "body"},

		{"invalid byte", []byte("{\"id\": \"a\", \"body\": \"\xff\xfe\"}"), ReasonInvalidUTF8, ""},
		{"truncated Hangul", []byte("{\"id\": \"a\", \"title\": \"\xed\x95\"}"), ReasonInvalidUTF8, ""},
		{"lone surrogate escape", line(map[string]any{"title": "x"}), ReasonInvalidUTF8, "title"}, // patched below
		{"replacement character", line(map[string]any{"body": "민원 \uFFFD 내용입니다 정말로"}), ReasonInvalidUTF8, "body"},

		{"no id", line(map[string]any{"id": nil}), ReasonMissingField, "id"},
		{"null date", []byte(`{"id":"a","received_at":null,"title":"t","body":"본문입니다 본문","department":"기타"}`), ReasonMissingField, "received_at"},
		{"blank title", line(map[string]any{"title": " \t\u200b "}), ReasonMissingField, "title"},
		{"empty body", line(map[string]any{"body": ""}), ReasonMissingField, "body"},
		{"no department", line(map[string]any{"department": nil}), ReasonMissingField, "department"},

		{"slashes", line(map[string]any{"received_at": "2019/04/30"}), ReasonBadDate, "received_at"},
		{"no padding", line(map[string]any{"received_at": "2019-4-30"}), ReasonBadDate, "received_at"},
		{"31 April", line(map[string]any{"received_at": "2019-04-31"}), ReasonBadDate, "received_at"},
		{"29 February 2019", line(map[string]any{"received_at": "2019-02-29"}), ReasonBadDate, "received_at"},
		{"with time", line(map[string]any{"received_at": "2019-04-30T10:00:00Z"}), ReasonBadDate, "received_at"},
		{"typo year", line(map[string]any{"received_at": "0219-04-30"}), ReasonBadDate, "received_at"},
		{"future", line(map[string]any{"received_at": "2020-01-03"}), ReasonBadDate, "received_at"},

		{"unknown department", line(map[string]any{"department": "교통"}), ReasonUnknownDepartment, "department"},
		{"department case of another label", line(map[string]any{"department": "육아 / 교육"}), ReasonUnknownDepartment, "department"},

		{"body too short", line(map[string]any{"body": "법"}), ReasonTooShort, "body"},
		{"body of spaces and a word", line(map[string]any{"body": "   네   "}), ReasonTooShort, "body"},
		{"body too long", line(map[string]any{"body": strings.Repeat("가", 50_001)}), ReasonTooLong, "body"},
		{"title too long", line(map[string]any{"title": strings.Repeat("가", 201)}), ReasonTooLong, "title"},
		{"id too long", line(map[string]any{"id": strings.Repeat("a", 129)}), ReasonTooLong, "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.line
			if tt.name == "lone surrogate escape" {
				l = []byte(strings.Replace(string(l), `"title":"x"`, `"title":"\ud800"`, 1))
			}
			rec, rej := fixedChecker().Check(l)
			require.NotNil(t, rej, "expected a rejection")
			assert.Equal(t, Record{}, rec)
			assert.Equal(t, tt.reason, rej.Reason)
			assert.Equal(t, tt.field, rej.Field)
			assert.NotEmpty(t, rej.Detail)
			assert.Contains(t, rej.Error(), string(tt.reason))
		})
	}
}

// TestCheckKeepsNoState checks that the Checker judges each line on its
// own: copies are internal/dedup's to find, over the whole batch.
func TestCheckKeepsNoState(t *testing.T) {
	c := fixedChecker()
	first, rej := c.Check(line(nil))
	require.Nil(t, rej)
	again, rej := c.Check(line(nil))
	require.Nil(t, rej)
	assert.Equal(t, first, again)

	// A rejected line leaves nothing behind either.
	_, rej = c.Check(line(map[string]any{"department": "없는부서"}))
	require.NotNil(t, rej)
	_, rej = c.Check(line(nil))
	assert.Nil(t, rej)
}

func TestRejectionDetailNeverQuotesText(t *testing.T) {
	secret := "홍길동 010-1234-5678 서울시 강남구"
	lines := [][]byte{
		line(map[string]any{"department": secret}),
		line(map[string]any{"received_at": secret}),
		line(map[string]any{"body": "홍길동"}),
		line(map[string]any{"title": strings.Repeat(secret, 20)}),
		[]byte(`{"id": "a", "body": "` + secret + `" oops}`),
		[]byte(`{"id": "a", "body": ` + `홍길동}`),
	}
	for _, l := range lines {
		_, rej := fixedChecker().Check(l)
		require.NotNil(t, rej)
		for _, word := range strings.Fields(secret) {
			assert.NotContains(t, rej.Detail, word, "%s", rej.Reason)
		}
	}
}

func TestRulesZeroLimitsDisableChecks(t *testing.T) {
	c := NewChecker(Rules{})
	rec, rej := c.Check(line(map[string]any{"department": "아무 부서", "body": "짧", "title": strings.Repeat("가", 1000)}))
	require.Nil(t, rej)
	assert.Equal(t, "아무 부서", rec.Department)
}

// TestSampleComplaints checks that every shipped sample line passes the
// default rules (duplicates among them are internal/dedup's test).
func TestSampleComplaints(t *testing.T) {
	c := NewChecker(DefaultRules())
	total := 0
	for _, name := range synth.SampleFiles(t) {
		f, err := os.Open(name)
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 1<<20), 1<<24)
		for sc.Scan() {
			total++
			if _, rej := c.Check(sc.Bytes()); rej != nil {
				t.Errorf("%s line %d: %v", filepath.Base(name), total, rej)
			}
		}
		require.NoError(t, sc.Err())
		f.Close()
	}
	assert.Equal(t, 2906, total)
}

func FuzzCheck(f *testing.F) {
	f.Add(line(nil))
	f.Add(line(map[string]any{"received_at": "2019-02-29"}))
	f.Add(line(map[string]any{"department": "교통"}))
	f.Add([]byte(`{"id":"a","received_at":"2019-01-01","title":"\ud800","body":"x","department":"기타"}`))
	f.Add([]byte("\uFEFF{}"))
	f.Add([]byte("{\"id\": \"\xff\"}"))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, l []byte) {
		c := fixedChecker()
		rec, rej := c.Check(l)
		if (rej == nil) == (rec == Record{}) {
			t.Fatalf("want exactly one of record or rejection, got %+v and %+v", rec, rej)
		}
		if rej != nil {
			switch rej.Reason {
			case ReasonBadJSON, ReasonInvalidUTF8, ReasonMissingField, ReasonBadDate, ReasonUnknownDepartment, ReasonTooShort, ReasonTooLong, ReasonGarbage:
			default:
				t.Fatalf("unexpected reason %q", rej.Reason)
			}
			return
		}
		// The same line is judged the same way again.
		if again, rej := c.Check(l); rej != nil || again != rec {
			t.Fatalf("second check of an accepted line: %+v, %+v", again, rej)
		}
	})
}
