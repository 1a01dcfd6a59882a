package pii

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// want builds the expected span for the first occurrence of value in
// text, counting code points independently of the detector.
func want(text, value string, t Type) Span {
	b := strings.Index(text, value)
	if b < 0 {
		panic("test value " + value + " not in " + text)
	}
	start := utf8.RuneCountInString(text[:b])
	return Span{Start: start, End: start + utf8.RuneCountInString(value), Type: t, Text: value}
}

type detectCase struct {
	text  string
	value string // "" means nothing may be detected
}

// runTypeCases checks that each text yields exactly one span of type t
// over value (offsets included), or no span at all when value is empty.
func runTypeCases(t *testing.T, typ Type, cases []detectCase) {
	t.Helper()
	d := NewDetector()
	for _, c := range cases {
		t.Run(c.text, func(t *testing.T) {
			got := d.Detect(c.text)
			checkSpans(t, c.text, got)
			if c.value == "" {
				assert.Empty(t, got, "hard negative must not be detected")
				return
			}
			assert.Equal(t, []Span{want(c.text, c.value, typ)}, got)
		})
	}
}

func TestDetectRRN(t *testing.T) {
	runTypeCases(t, RRN, []detectCase{
		{"주민등록번호 900101-1234568 입니다", "900101-1234568"},    // valid check digit
		{"주민번호는9001011234568이고", "9001011234568"},          // no hyphen, Korean on both sides
		{"본인 900101-1234567 확인", "900101-1234567"},         // bad check digit: post-2020 serial
		{"출생 040229-4123456 (2004년 윤일)", "040229-4123456"}, // 2000s, leap day
		{"2000년 윤일 000229-3123454", "000229-3123454"},
		{"1899년생 991231-9123451", "991231-9123451"}, // G=9: 1800s
		{"뒷자리 가림 900101-1******", "900101-1******"}, // masked serial still shows birth date and sex
		{"주민등록번호: 900101-1234568", "900101-1234568"},
		{"주문번호 900101-1234568", "900101-1234568"}, // a valid check digit beats the label
		// hard negatives
		{"주문번호 900101-1234567", ""}, // labelled as another number, check digit fails
		{"사건번호: 900101-1234567", ""},
		{"901301-1234567 은 13월", ""},       // month 13
		{"900230-1234567", ""},             // 30 February
		{"000229-1234567 (1900년은 평년)", ""}, // 29 February 1900
		{"900101-1234", ""},                // too short
		{"12900101-1234567", ""},           // inside a longer digit run
		{"900101-12345678", ""},
		{"900101-1234567-1", ""},
		{"ID900101-1234567", ""}, // glued to letters
		{"2019-04-30 접수", ""},
		{"계약금 1,000,000원", ""},
		{"9001011234567890123", ""}, // long digit run
	})
}

func TestDetectFRN(t *testing.T) {
	runTypeCases(t, FRN, []detectCase{
		{"외국인등록번호 850315-5123458", "850315-5123458"},
		{"등록번호는 0101017123459 입니다", "0101017123459"}, // 2000s foreigner, no hyphen
		{"외국인 900101-6543211", "900101-6543211"},
		{"외국인 900101-6543210", "900101-6543210"}, // bad check digit still detected
		{"외국인 851335-5123458", ""},               // month 13
	})
}

func TestDetectPhone(t *testing.T) {
	runTypeCases(t, PHONE, []detectCase{
		{"연락처 010-1234-5678 로", "010-1234-5678"},
		{"담당 연락처 010-1234-5678 입니다", "010-1234-5678"}, // and no PERSON after 담당
		{"휴대폰010.1234.5678입니다", "010.1234.5678"},
		{"전화 010 1234 5678 주세요", "010 1234 5678"},
		{"번호는 01012345678", "01012345678"},
		{"예전 번호 011-123-4567", "011-123-4567"},
		{"017-1234-5678번", "017-1234-5678"},
		{"서울 02-123-4567", "02-123-4567"},
		{"서울 02-1234-5678", "02-1234-5678"},
		{"대표번호(02) 123-4567", "(02) 123-4567"},
		{"서울 0212345678", "0212345678"},
		{"경기 031-123-4567", "031-123-4567"},
		{"제주 064-712-3456.", "064-712-3456"},
		{"세종 044-201-3393, 담당", "044-201-3393"},
		{"인터넷전화 070-1234-5678", "070-1234-5678"},
		{"안심번호 0505-123-4567", "0505-123-4567"},
		{"무료 080-123-4567", "080-123-4567"},
		{"고객센터 1588-1234 로", "1588-1234"},
		{"상담원(1577-1000)에게", "1577-1000"},
		{"해외에서 +82-10-1234-5678", "+82-10-1234-5678"},
		{"해외 +82 10 1234 5678", "+82 10 1234 5678"},
		{"해외 +821012345678", "+821012345678"},
		{"해외 +82 (0)2-123-4567", "+82 (0)2-123-4567"},
		{"해외 0082-10-1234-5678", "0082-10-1234-5678"},
		// hard negatives
		{"010-123-4567", ""}, // 010 always has four middle digits
		{"020-123-4567", ""}, // no such area code
		{"039-123-4567", ""},
		{"010-1234-56789", ""},  // last group too long
		{"12010-1234-5678", ""}, // inside a longer digit run
		{"010-1234-5678-9", ""},
		{"1234-010-1234-5678", ""},
		{"1592-1598년 임진왜란", ""}, // year range, not 15xx-xxxx
		{"1234-5678", ""},       // no allocated prefix
		{"15881234", ""},        // representative numbers need a separator
		{"2019-04-30 접수", ""},
		{"2019.04.30", ""},
		{"1,000,000원", ""},
		{"법률 제16930호", ""},
		{"https://n.news.naver.com/article/005/0212345678?aid=0101234567", ""}, // URL ids
		{"www.example.com/0311234567", ""},
		{"blog.example.com/0212345678", ""}, // URL without a scheme
		{"list.php?aid=0111234567&x=1", ""},
		{"전화/0212345678", "0212345678"},
		{"model010-1234-5678", ""},
	})
}

func TestDetectEmail(t *testing.T) {
	runTypeCases(t, EMAIL, []detectCase{
		{"메일 hong.gildong@example.co.kr 로", "hong.gildong@example.co.kr"},
		{"이메일은koala@daum.net입니다", "koala@daum.net"},
		{"문의: a+tag@mail.example.com.", "a+tag@mail.example.com"},
		{"[jycha@ytn.co.kr]입니다", "jycha@ytn.co.kr"},
		{"사이트 http://example.com/contact?m=kim@example.org 참조", "kim@example.org"},
		// hard negatives
		{"살려주세요!!!@@@@@", ""},
		{"user@localhost", ""},
		{"user@example.c", ""},
		{"d*********@naver.com", ""}, // already masked local part
		{"name@123.456", ""},
		{"@handle 트위터", ""},
	})
}

func TestDetectCard(t *testing.T) {
	runTypeCases(t, CARD, []detectCase{
		{"카드 4111-1111-1111-1111 결제", "4111-1111-1111-1111"},
		{"카드4111 1111 1111 1111로", "4111 1111 1111 1111"},
		{"카드번호 4111111111111111", "4111111111111111"},
		{"마스터 5500-0000-0000-0004", "5500-0000-0000-0004"},
		{"국내카드 9410-1234-5678-9010", "9410-1234-5678-9010"},
		{"JCB 3560-1234-5678-9011", "3560-1234-5678-9011"},
		{"아멕스 3782-822463-10005", "3782-822463-10005"},
		// hard negatives
		{"카드 4111-1111-1111-1112", ""},    // Luhn fails
		{"1234-5678-9012-3456", ""},       // no issuer prefix
		{"4111-1111 1111-1111", ""},       // mixed separators
		{"7111111111111111", ""},          // no issuer starts with 7
		{"41111111111111110", ""},         // 17 digits
		{"4111-1111-1111-1111-1111", ""},  // five groups
		{"주문번호 12345678901234567890", ""}, // long digit run
	})
}

func TestDetectBusinessReg(t *testing.T) {
	runTypeCases(t, BUSINESS_REG, []detectCase{
		{"사업자등록번호 220-81-62517 (주)", "220-81-62517"},
		{"사업자번호:123-45-67891", "123-45-67891"},
		{"사업자 105-87-00005입니다", "105-87-00005"},
		// hard negatives
		{"사업자등록번호 123-45-67890", ""}, // checksum fails
		{"2208162517", ""},           // unseparated: ambiguous with phone numbers and ids
		{"220-81-625171", ""},
	})
}

func TestDetectIP(t *testing.T) {
	runTypeCases(t, IP, []detectCase{
		{"접속 IP 192.168.0.1 에서", "192.168.0.1"},
		{"서버10.0.0.25로", "10.0.0.25"},
		{"주소는 203.0.113.255.", "203.0.113.255"},
		{"IPv6 2001:db8::1 사용", "2001:db8::1"},
		{"링크로컬 fe80::1ff:fe23:4567:890a 주소", "fe80::1ff:fe23:4567:890a"},
		// hard negatives
		{"256.1.1.1", ""},
		{"상위 1.2.3.4번", ""}, // list numbering
		{"192.168.001.1", ""},
		{"1.2.3.4.5", ""},
		{"2019.04.30.", ""},
		{"v10.0.0.1", ""},
		{"16:42:22 접수", ""},
		{"비율 12::30", ""},
	})
}

func TestDetectAddress(t *testing.T) {
	runTypeCases(t, ADDRESS, []detectCase{
		{"주소는 서울특별시 강남구 테헤란로 123 입니다", "서울특별시 강남구 테헤란로 123"},
		{"주소: 서울시 강남구 도곡로 18길 34 청원", "서울시 강남구 도곡로 18길 34"},
		{"부산광역시 서구 까치고개로208번길 19-2)으로", "부산광역시 서구 까치고개로208번길 19-2"},
		{"주소는 경기도 화성시 효행로 988-10, 301호(진안동)이고", "경기도 화성시 효행로 988-10, 301호(진안동)"},
		{"경기도 성남시 분당구 판교역로 235 (삼평동) 방문", "경기도 성남시 분당구 판교역로 235 (삼평동)"},
		{"서울 서대문구 서소문로 51 상수도사업본부", "서울 서대문구 서소문로 51"},
		{"수원시 팔달구 효원로 1 101동 1203호에", "수원시 팔달구 효원로 1 101동 1203호"},
		{"당시 강원도 삼척군 묵호읍 발한리 129번지에 거주", "강원도 삼척군 묵호읍 발한리 129번지"},
		{"코레일은 서울특별시 중구 봉래동2가 122번지 일대", "서울특별시 중구 봉래동2가 122번지"},
		{"부천시 소사구 심곡본동 539-10 1층 상가", "부천시 소사구 심곡본동 539-10 1층"},
		{"주소는 서울 중구 세종대로 지하 2 입니다", "서울 중구 세종대로 지하 2"},
		{"강원도 삼척군 묵호읍 발한리 산 12-3 임야", "강원도 삼척군 묵호읍 발한리 산 12-3"},
		{"주소는 테헤란로 123입니다", "테헤란로 123"}, // no administrative unit, but a road name
		{"판교역로 235 (삼평동) 방문", "판교역로 235 (삼평동)"},
		{"도곡로18길 34에서", "도곡로18길 34"},
		{"효원로 12번길 3 에", "효원로 12번길 3"},
		{"역삼동 123-4번지 주택", "역삼동 123-4번지"},
		{"이웃집(서울 금천의 독산1동 150-17)의", "독산1동 150-17"},
		{"신림동 산 12-3 일대", "신림동 산 12-3"},
		{"주소지: 퇴계로 100", "퇴계로 100"}, // vowel before 로, but an address word before it
		{"백범로 88-1 앞", "백범로 88-1"},
		// hard negatives
		{"서울시 강남구 도로 1곳", ""},     // 도로 is not a road name
		{"강남구 앞으로 10년", ""},       // the particle (으)로
		{"수원시 팔달구 효원로 2019년", ""}, // a year, not a building number
		{"성남시 분당구로 3번 출구", ""},
		{"우리 활동 3건", ""},
		{"도시 국가 2곳", ""},
		{"학교로 3 명이 갔다", ""},  // 학교 + particle 로
		{"퇴계로 100", ""},      // vowel before 로 and no other evidence (a known miss)
		{"규정대로 30 일 이내", ""}, // 대로 "as", not a road
		{"병원을 상대로 1심", ""},
		{"예수금대로 30% 손실", ""},
		{"산책로 2 곳", ""},
		{"우리 동 12-3", ""},
		{"건물 지하 2층", ""},
		{"세종대로 12345 번", ""}, // five digits: not a building number alone
	})
}

func TestDetectPerson(t *testing.T) {
	runTypeCases(t, PERSON, []detectCase{
		{"민원인 손문호 외 2명", "손문호"},
		{"민원인: 홍길동은 요청", "홍길동"},
		{"어제 김철수 씨가 왔다", "김철수"},
		{"어제 김철수씨는 왔다", "김철수"},
		{"피의자 박모 씨", "박모"},
		{"홍길동님께서 말씀", "홍길동"},
		{"성명: 홍길동", "홍길동"},
		{"이름 : 김영희 (여)", "김영희"},
		{"[성명] 이순신", "이순신"},
		{"주택정비과(담당 최홍석)로 문의", "최홍석"},
		{"담당자: 김민준 드림", "김민준"},
		{"김민준 주무관에게", "김민준"},
		{"배우 남궁민수 씨", "남궁민수"},
		// hard negatives
		{"오늘날씨 좋다", ""},
		{"좋은 날씨", ""},
		{"말솜씨가 좋다", ""},
		{"마음씨 고운", ""},
		{"아저씨가 왔다", ""},
		{"씨앗을 심고", ""},
		{"장이 나서야 씨알이 먹힌다", ""},
		{"문재인 대통령님께", ""},
		{"부모님 선생님 사장님", ""},
		{"변호사님 조사관님 위원장님", ""},
		{"하나님 하느님", ""},
		{"민원 담당자분들께", ""},
		{"해당 담당자 문책", ""},
		{"성명서를 발표", ""},
		{"이름으로 된", ""},
		{"민원인들이 모여", ""},
		{"민원인 주소를 알려", ""},
		{"담당 경찰은 이런", ""},
		{"담당 조사관이 말했다", ""},
		{"담당 공무원이 담당 선생님 담당 기관이 담당 한의사", ""},
		{"나온 주무관이", ""},
		{"주택과 주무관", ""},
		{"성명 불상의 남자", ""},
	})
}

// TestOffsetsLiteral pins code-point offsets by hand, independently of the
// helper that computes them.
func TestOffsetsLiteral(t *testing.T) {
	d := NewDetector()
	text := "연락처는 010-1234-5678입니다. 메일 kim@ex.com, 민원인 홍길동"
	got := d.Detect(text)
	assert.Equal(t, []Span{
		{Start: 5, End: 18, Type: PHONE, Text: "010-1234-5678"},
		{Start: 26, End: 36, Type: EMAIL, Text: "kim@ex.com"},
		{Start: 42, End: 45, Type: PERSON, Text: "홍길동"},
	}, got)
	r := []rune(text)
	for _, sp := range got {
		assert.Equal(t, sp.Text, string(r[sp.Start:sp.End]))
	}
}

func TestOverlapPriority(t *testing.T) {
	d := NewDetector()
	// The phone number inside the local part merges into the e-mail.
	text := "메일 01012345678@naver.com 입니다"
	assert.Equal(t, []Span{want(text, "01012345678@naver.com", EMAIL)}, d.Detect(text))
}

func TestRepeatedValuesAreAllMasked(t *testing.T) {
	d := NewDetector()
	text := "김철수 씨가 왔다. 김철수는 또 https://x.example/?tel=01012345678 에 01012345678 을 남겼다"
	masked, spans := d.MaskText(text, TagPolicy{})
	assert.Equal(t, "[이름] 씨가 왔다. [이름]는 또 https://x.example/?tel=[전화번호] 에 [전화번호] 을 남겼다", masked)
	assert.Len(t, spans, 4)
}

func TestMaskText(t *testing.T) {
	d := NewDetector()
	text := "민원인 홍길동(900101-1234568)은 서울특별시 강남구 테헤란로 123에 살며 010-1234-5678, hong@example.com 으로 연락 바랍니다."
	masked, spans := d.MaskText(text, TagPolicy{})
	assert.Equal(t, "민원인 [이름]([주민등록번호])은 [주소]에 살며 [전화번호], [이메일] 으로 연락 바랍니다.", masked)
	for _, sp := range spans {
		assert.NotContains(t, masked, sp.Text)
	}
	assert.Equal(t, masked, Mask(text, spans, TagPolicy{}))
	assert.Equal(t, masked, Mask(text, spans, nil))
}

func TestMaskTextNoPII(t *testing.T) {
	d := NewDetector()
	text := "2019년 4월 30일 접수된 민원 1,000,000원 환불 요청"
	masked, spans := d.MaskText(text, TagPolicy{})
	assert.Equal(t, text, masked)
	assert.Nil(t, spans)
}

func TestMaskRobustToCallerSpans(t *testing.T) {
	text := "가나다라마바사"
	tests := []struct {
		name  string
		spans []Span
		want  string
	}{
		{"none", nil, text},
		{"unsorted", []Span{{Start: 5, End: 6, Type: PERSON}, {Start: 0, End: 2, Type: PHONE}}, "[전화번호]다라마[이름]사"},
		{"overlap extends earlier", []Span{{Start: 1, End: 3, Type: PHONE}, {Start: 2, End: 5, Type: PERSON}}, "가[전화번호]바사"},
		{"contained", []Span{{Start: 1, End: 5, Type: PHONE}, {Start: 2, End: 3, Type: PERSON}}, "가[전화번호]바사"},
		{"clamped", []Span{{Start: -3, End: 1, Type: IP}, {Start: 6, End: 99, Type: EMAIL}}, "[IP주소]나다라마바[이메일]"},
		{"beyond end", []Span{{Start: 20, End: 25, Type: IP}}, text},
		{"empty and inverted", []Span{{Start: 2, End: 2, Type: IP}, {Start: 4, End: 3, Type: IP}}, text},
		{"unknown type", []Span{{Start: 0, End: 1, Type: "OTHER"}}, "[개인정보]나다라마바사"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Mask(text, tt.spans, TagPolicy{}))
		})
	}
}

func TestTags(t *testing.T) {
	want := map[Type]string{
		RRN: "[주민등록번호]", FRN: "[외국인등록번호]", PHONE: "[전화번호]", EMAIL: "[이메일]",
		CARD: "[카드번호]", ACCOUNT: "[계좌번호]", PASSPORT: "[여권번호]",
		DRIVER_LICENSE: "[운전면허번호]", BUSINESS_REG: "[사업자등록번호]", VEHICLE: "[차량번호]",
		BIRTH_DATE: "[생년월일]", IP: "[IP주소]", ADDRESS: "[주소]", PERSON: "[이름]",
	}
	require.Len(t, Types(), len(want))
	for _, ty := range Types() {
		assert.Equal(t, want[ty], ty.Tag(), ty)
		assert.Equal(t, want[ty], TagPolicy{}.Replace(Span{Type: ty}))
	}
}

func TestDetectorConcurrent(t *testing.T) {
	d := NewDetector()
	text := "민원인 홍길동 010-1234-5678 hong@example.com"
	first := d.Detect(text)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				assert.Equal(t, first, d.Detect(text))
			}
		})
	}
	wg.Wait()
}

func TestSpanJSON(t *testing.T) {
	b, err := json.Marshal(Span{Start: 5, End: 18, Type: PHONE, Text: "010-1234-5678"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"start":5,"end":18,"type":"PHONE","text":"010-1234-5678"}`, string(b))
}
