package pii

import (
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	"",
	"민원인 홍길동(900101-1234568)은 서울특별시 강남구 테헤란로 123에 살며 010-1234-5678",
	"hong@example.com +82 10 1234 5678 (02) 123-4567 1588-1234",
	"4111-1111-1111-1111 220-81-62517 192.168.0.1 2001:db8::1",
	"김철수 씨가 왔다. 김철수는 https://x.example/?tel=01012345678",
	"성명: 홍길동 이름 : 김영희 담당 최홍석 김민준 주무관",
	"경기도 화성시 효행로 988-10, 301호(진안동) 봉래동2가 122번지",
	"a@b.cc@d.ee::1:2:3.4.5.6 +8201012345678 0082",
	"\xed\x95\x9c\xff\xfe 010-1234-5678 \xec\x94",
	// types added later
	"환불은 국민은행 123456-01-123456, 신한 110-123-456789, 1234567890123(국민은행)",
	"여권번호 M12345678 여권 M123A4567 Passport No. S87654321",
	"운전면허 11-19-123456-78 서울 12-345678-90 면허 111912345678",
	"12가3456 서울12가3456 차량 번호 57 구 2853 2023가합12345 27조2580억원",
	"생년월일: 1990-01-01 생일 900101 66년11월28일생 DOB 1990. 1. 1.",
	"사업자 2208162517 연락처 234-5678 010 - 7972 - 3119 scan_900101-1234567.pdf",
	"김모(33)씨 박씨 이 씨 강남 씨가 서울시 중구 강남로 12에 산다 김민서 씨",
	"테헤란로 123 세종대로 지하 2 발한리 산 12-3 역삼동 123-4번지 도곡로18길 34",
	"900101-1****** 900101-1****** ********",
	// names after cues, tables and labelled numbers
	"주무관  여은솔      행정팀장  곽태호\n과장  전결  남궁 현\n협조자   주무관 선우진",
	"성명(영문)  NGUYEN VAN AN\n성명(한글)  응우옌 반 안\n모(母) 홍길순 부: 홍길동, 모: 김영희",
	"  연번 | 성명 | 생년월일\n  ---- | ---- | ----\n  1 | 김별 | 950302-2******\n  2 | PEREZ MARIA 1990-01-01 |",
	"소유자: TRAN VAN MINH(쩐 반 민) 배우자 쿠마리 샤르마(KUMARI SHARMA) 다나카 유키(TANAKA YUKI)",
	"사업자등록번호\n 131-86-29470 여권번호 C4F9J7K21 주민등록번호 901301-1234567 홍길동 (인) 김철수(45세)",
	"참석위원: 김철수 위원장, 이영희 위원 - 독고준 위원: 찬성 │ 성명 │",
}

// fuzzPolicies are the policies each fuzz input is masked with.
func fuzzPolicies(tb testing.TB) map[string]Policy {
	ps, err := NewPseudonymPolicy([]byte("fuzz-key-0123456789abcdef"))
	if err != nil {
		tb.Fatal(err)
	}
	return map[string]Policy{
		"tag":       TagPolicy{},
		"partial":   PartialPolicy{},
		"pseudonym": ps,
		"per-type":  PerTypePolicy{Default: PartialPolicy{}, ByType: map[Type]Policy{PERSON: ps}},
	}
}

func FuzzDetect(f *testing.F) {
	for _, seed := range fuzzSeeds {
		f.Add(seed)
	}
	d := NewDetector()
	policies := fuzzPolicies(f)
	f.Fuzz(func(t *testing.T, text string) {
		spans := d.Detect(text)
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
		}
		for name, p := range policies {
			masked, got := d.MaskText(text, p)
			if len(got) != len(spans) {
				t.Fatalf("%s: MaskText found %d spans, Detect %d", name, len(got), len(spans))
			}
			for _, sp := range got {
				if strings.Contains(masked, sp.Text) {
					t.Fatalf("%s: masked text %q still contains %q", name, masked, sp.Text)
				}
			}
			if again := Mask(text, got, p); again != masked {
				t.Fatalf("%s: Mask(Detect) = %q, MaskText = %q", name, again, masked)
			}
		}
	})
}

// FuzzMask feeds arbitrary spans, as a caller might send them, to Mask
// under every policy: it must not panic and must keep valid UTF-8 valid.
func FuzzMask(f *testing.F) {
	for i, seed := range fuzzSeeds {
		f.Add(seed, i%5, i%5+3+i%7, uint8(i))
	}
	policies := fuzzPolicies(f)
	f.Fuzz(func(t *testing.T, text string, start, end int, typ uint8) {
		ty := Type("OTHER")
		if int(typ) < len(allTypes) {
			ty = allTypes[typ]
		}
		spans := []Span{{Start: start, End: end, Type: ty}, {Start: end - 2, End: end + 3, Type: PERSON}}
		for name, p := range policies {
			masked := Mask(text, spans, p)
			if utf8.ValidString(text) && !utf8.ValidString(masked) {
				t.Fatalf("%s: valid input %q gave invalid output %q", name, text, masked)
			}
		}
	})
}
