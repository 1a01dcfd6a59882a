package pii

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzDetect(f *testing.F) {
	for _, seed := range []string{
		"",
		"민원인 홍길동(900101-1234568)은 서울특별시 강남구 테헤란로 123에 살며 010-1234-5678",
		"hong@example.com +82 10 1234 5678 (02) 123-4567 1588-1234",
		"4111-1111-1111-1111 220-81-62517 192.168.0.1 2001:db8::1",
		"김철수 씨가 왔다. 김철수는 https://x.example/?tel=01012345678",
		"성명: 홍길동 이름 : 김영희 담당 최홍석 김민준 주무관",
		"경기도 화성시 효행로 988-10, 301호(진안동) 봉래동2가 122번지",
		"a@b.cc@d.ee::1:2:3.4.5.6 +8201012345678 0082",
		"\xed\x95\x9c\xff\xfe 010-1234-5678 \xec\x94",
	} {
		f.Add(seed)
	}
	d := NewDetector()
	f.Fuzz(func(t *testing.T, text string) {
		masked, spans := d.MaskText(text, TagPolicy{})
		n := utf8.RuneCountInString(text)
		prevEnd := 0
		for _, sp := range spans {
			if sp.Start < prevEnd || sp.End <= sp.Start || sp.End > n {
				t.Fatalf("span %+v out of order or range (prev end %d, %d runes)", sp, prevEnd, n)
			}
			prevEnd = sp.End
			if utf8.ValidString(text) && string([]rune(text)[sp.Start:sp.End]) != sp.Text {
				t.Fatalf("span %+v does not match its offsets", sp)
			}
			if strings.Contains(masked, sp.Text) {
				t.Fatalf("masked text %q still contains %q", masked, sp.Text)
			}
		}
		if again := Mask(text, spans, TagPolicy{}); again != masked {
			t.Fatalf("Mask(Detect) = %q, MaskText = %q", again, masked)
		}
	})
}
