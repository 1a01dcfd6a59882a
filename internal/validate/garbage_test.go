package validate

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dure-platform/dure/internal/synth"
)

func TestGarbage(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		garbage bool
	}{
		{"one letter repeated", "ㅋㅋㅋㅋㅋㅋㅋㅋ", true},
		{"one Latin letter repeated", "aaaaaaaaaaaaaaaaaaaa", true},
		{"one digit repeated, spaced", "1 1 1 1 1 1", true},
		{"one symbol repeated", "!!!!!!!!!!!!", true},
		{"Latin keyboard mash", "asdfasdf asdfsadf asdf", true},
		{"consonant mash", "sdfkjh sdkfjh qwrtplk zxcvbn", true},
		{"Korean keyboard mash", "ㅁㄴㅇㄹㅁㄴㅇㄹ ㅂㅈㄷㄱ ㅁㄴㅇㄹ", true},
		{"only laughter and tears", "ㅋㅋㅋㅋㅋㅋ ㅠㅠㅠㅠ ㅎㅎㅎ", true},
		{"mostly digits", "010 1234 5678 010 9876 5432 02 555 1212", true},
		{"mostly symbols", "!@#$%^&*()_+ !@#$%^&*() ~~~ ### ***", true},
		{"base64 blob", "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", true},
		{"hex blob", "첨부 3f2a9c0d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e", true},
		{"low diversity", "가나가나가나가나가나가나가나가나가나가나가나", true},

		{"Korean complaint", "어린이집 앞 도로에 과속방지턱을 설치해 주세요. 아이들이 위험합니다.", false},
		{"English complaint", "The streetlight in front of building 12 has been broken for three weeks. Please fix it.", false},
		{"short body", "법을 지켜주세요", false},
		{"laughter inside text", "등교시간을 10시로 늘려주세용 ㅠㅠㅠ", false},
		{"placeholder body", "............", false},
		{"dash placeholder", "-----", false},
		{"numbers in text", "2019년 3월 15일 오후 2시 30분경 12번 버스가 정류장을 그냥 지나쳤습니다. 차량번호 1234.", false},
		{"question marks", "인건비 지원은 기대하면 안돼는 것인가요??? ?????????????????????????????????", false},
		{"URL in text", "자세한 내용은 https://www.example.go.kr/board/view?id=12345&page=2 를 참고해 주세요.", false},
		{"short code", "민원번호 AB12cd34EF 처리 결과를 알려 주세요.", false},
		{"acronyms", "KTX SRT GTX 노선 연장을 요청합니다. GTX-A 노선의 정차역을 늘려 주세요.", false},
		{"English with keyboard neighbours", "We were there; our reporter was as surprised as you were.", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			why := garbage(tt.body)
			assert.Equal(t, tt.garbage, why != "", "reason %q", why)
			if tt.garbage {
				_, rej := fixedChecker().Check(line(map[string]any{"body": tt.body}))
				require.NotNil(t, rej)
				assert.Equal(t, ReasonGarbage, rej.Reason)
				assert.Equal(t, "body", rej.Field)
				for _, w := range strings.Fields(tt.body) {
					if len(w) > 3 {
						assert.NotContains(t, rej.Detail, w)
					}
				}
			}
		})
	}
}

// TestGarbageSampleComplaints: no sample body may look like garbage.
func TestGarbageSampleComplaints(t *testing.T) {
	recs := synth.SampleRecords(t)
	for _, r := range recs {
		if why := garbage(r.Body); why != "" {
			t.Errorf("%s flagged as garbage: %s", r.ID, why)
		}
	}
	t.Logf("%d sample bodies, none garbage", len(recs))
}
