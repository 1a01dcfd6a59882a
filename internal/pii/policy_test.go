package pii

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPartialPolicy(t *testing.T) {
	tests := []struct {
		typ  Type
		in   string
		want string
	}{
		{RRN, "900101-1234568", "900101-1******"},
		{RRN, "9001011234568", "9001011******"},
		{RRN, "900101-1******", "******-*******"}, // nothing left to hide: hide all
		{FRN, "850315-5123458", "850315-5******"},
		{PHONE, "010-1234-5678", "010-****-5678"},
		{PHONE, "010.1234.5678", "010.****.5678"},
		{PHONE, "01012345678", "010****5678"},
		{PHONE, "0212345678", "02****5678"},
		{PHONE, "02-123-4567", "02-***-4567"},
		{PHONE, "(02) 123-4567", "(02) ***-4567"},
		{PHONE, "+82-10-1234-5678", "+82-10-****-5678"},
		{PHONE, "+821012345678", "+8210****5678"},
		{PHONE, "1588-1234", "1588-****"},
		{PHONE, "234-5678", "234-****"},
		{CARD, "4111-1111-1111-1111", "4111-****-****-1111"},
		{CARD, "4111111111111111", "4111********1111"},
		{CARD, "3782-822463-10005", "3782-******-*0005"},
		{ACCOUNT, "110-123-456789", "110-***-***789"},
		{ACCOUNT, "3333-01-1234567", "3333-**-****567"},
		{ACCOUNT, "123456789012", "123******012"},
		{BUSINESS_REG, "220-81-62517", "220-81-*****"},
		{PASSPORT, "M12345678", "M12****78"},
		{PASSPORT, "M123A4567", "M12****67"},
		{DRIVER_LICENSE, "11-19-123456-78", "11-19-******-**"},
		{DRIVER_LICENSE, "서울 12-345678-90", "서울 12-******-**"},
		{VEHICLE, "12가3456", "12가**56"},
		{VEHICLE, "서울12가3456", "서울12가**56"},
		{BIRTH_DATE, "1990-01-01", "1990-**-**"},
		{BIRTH_DATE, "1990년 1월 1일", "1990년 *월 *일"},
		{BIRTH_DATE, "900101", "90****"},
		{EMAIL, "hong.gildong@example.co.kr", "ho**********@example.co.kr"},
		{EMAIL, "ab@x.kr", "a*@x.kr"},
		{EMAIL, "인@x.kr", "*@*.**"}, // a caller's one-rune local part: nothing to keep, so all hidden
		{EMAIL, "홍길동@x.kr", "홍**@x.kr"},
		{IP, "192.168.0.1", "192.168.*.*"},
		{IP, "2001:db8::1", "2001:db8::*"},
		{ADDRESS, "서울특별시 강남구 테헤란로 123", "서울특별시 강남구 테헤란로 ***"},
		{ADDRESS, "역삼동 123-4번지", "역삼동 ***-*번지"},
		{PERSON, "홍길동", "홍*동"},
		{PERSON, "남궁민수", "남궁*수"},
		{PERSON, "홍길", "홍*"},
		{PERSON, "박씨", "*씨"},
		{PERSON, "윤 씨", "* 씨"},
		{"OTHER", "abc", "[개인정보]"},
	}
	for _, tt := range tests {
		t.Run(string(tt.typ)+" "+tt.in, func(t *testing.T) {
			got := PartialPolicy{}.Replace(Span{Type: tt.typ, Text: tt.in})
			assert.Equal(t, tt.want, got)
			assert.NotContains(t, got, tt.in)
		})
	}
	assert.Equal(t, "010-####-5678", PartialPolicy{Char: '#'}.Replace(Span{Type: PHONE, Text: "010-1234-5678"}))
}

func TestPartialPolicyMaskText(t *testing.T) {
	d := NewDetector()
	text := "민원인 홍길동(900101-1234568)은 서울특별시 강남구 테헤란로 123에 살며 010-1234-5678, hong@example.com 으로 연락 바랍니다."
	masked, spans := d.MaskText(text, PartialPolicy{})
	assert.Equal(t, "민원인 홍*동(900101-1******)은 서울특별시 강남구 테헤란로 ***에 살며 010-****-5678, ho**@example.com 으로 연락 바랍니다.", masked)
	assert.Equal(t, masked, Mask(text, spans, PartialPolicy{}))
}

// TestPartialPolicyFallsBackToTags covers a kept part that would reveal
// another value: the name 강남 inside the address that keeps its road
// name. The whole text is then masked with tags.
func TestPartialPolicyFallsBackToTags(t *testing.T) {
	d := NewDetector()
	text := "강남 씨가 서울시 중구 강남로 12에 산다"
	masked, spans := d.MaskText(text, PartialPolicy{})
	for _, sp := range spans {
		assert.NotContains(t, masked, sp.Text)
	}
	assert.Equal(t, "[이름] 씨가 [주소]에 산다", masked)
	assert.Equal(t, masked, Mask(text, spans, PartialPolicy{}))
}

func testKey(tenant string) []byte {
	k, err := TenantKey([]byte("master-secret-of-at-least-16-bytes"), tenant)
	if err != nil {
		panic(err)
	}
	return k
}

func TestPseudonymPolicy(t *testing.T) {
	a, err := NewPseudonymPolicy(testKey("suwon"))
	require.NoError(t, err)
	b, err := NewPseudonymPolicy(testKey("seongnam"))
	require.NoError(t, err)

	name := Span{Type: PERSON, Text: "홍길동"}
	tok := a.Replace(name)
	assert.Regexp(t, regexp.MustCompile(`^\[이름:[0-9a-f]{6}\]$`), tok)
	assert.Equal(t, tok, a.Replace(name), "same value, same tenant: same token")
	assert.NotEqual(t, tok, b.Replace(name), "different tenant: different token")
	assert.NotEqual(t, tok, a.Replace(Span{Type: PERSON, Text: "김철수"}))

	// Spellings of one value share a token.
	for _, v := range []string{"010-1234-5678", "01012345678", "010.1234.5678", "+82-10-1234-5678", "+82 10 1234 5678", "0082-10-1234-5678", "+82 (0)10-1234-5678"} {
		assert.Equal(t, a.Replace(Span{Type: PHONE, Text: "010 1234 5678"}), a.Replace(Span{Type: PHONE, Text: v}), v)
	}
	assert.Equal(t, a.Replace(Span{Type: EMAIL, Text: "Hong@Example.com"}), a.Replace(Span{Type: EMAIL, Text: "hong@example.com"}))
	assert.Equal(t, a.Replace(Span{Type: RRN, Text: "900101-1234568"}), a.Replace(Span{Type: RRN, Text: "9001011234568"}))
	assert.Equal(t, a.Replace(Span{Type: PASSPORT, Text: "m12345678"}), a.Replace(Span{Type: PASSPORT, Text: "M12345678"}))
	// The type separates domains: the same digits as an account and a phone.
	assert.NotEqual(t, strings.TrimPrefix(a.Replace(Span{Type: ACCOUNT, Text: "0101234567"}), "[계좌번호"),
		strings.TrimPrefix(a.Replace(Span{Type: PHONE, Text: "0101234567"}), "[전화번호"))

	long := a.WithDigits(16)
	assert.Regexp(t, regexp.MustCompile(`^\[이름:[0-9a-f]{16}\]$`), long.Replace(name))
	assert.True(t, strings.HasPrefix(long.Replace(name), strings.TrimSuffix(tok, "]")), "a longer token extends the short one")
	assert.Regexp(t, regexp.MustCompile(`^\[이름:[0-9a-f]{4}\]$`), a.WithDigits(1).Replace(name))

	d := NewDetector()
	text := "민원인 홍길동은 010-1234-5678로, 홍길동 씨 번호는 01012345678"
	masked, spans := d.MaskText(text, a)
	assert.Equal(t, masked, Mask(text, spans, a))
	assert.Equal(t, 2, strings.Count(masked, a.Replace(name)))
	assert.Equal(t, 2, strings.Count(masked, a.Replace(Span{Type: PHONE, Text: "01012345678"})))
}

func TestPseudonymKeys(t *testing.T) {
	_, err := NewPseudonymPolicy([]byte("short"))
	assert.ErrorIs(t, err, ErrWeakKey)
	_, err = TenantKey([]byte("short"), "suwon")
	assert.ErrorIs(t, err, ErrWeakKey)
	_, err = TenantKey([]byte("master-secret-of-at-least-16-bytes"), "")
	assert.Error(t, err)
	assert.Len(t, testKey("suwon"), 32)
	assert.NotEqual(t, testKey("suwon"), testKey("yongin"))

	// The policy keeps its own copy of the key.
	key := testKey("suwon")
	p, err := NewPseudonymPolicy(key)
	require.NoError(t, err)
	before := p.Replace(Span{Type: PERSON, Text: "홍길동"})
	key[0] ^= 0xFF
	assert.Equal(t, before, p.Replace(Span{Type: PERSON, Text: "홍길동"}))
}

func TestPerTypePolicy(t *testing.T) {
	ps, err := NewPseudonymPolicy(testKey("suwon"))
	require.NoError(t, err)
	p := PerTypePolicy{ByType: map[Type]Policy{PERSON: ps, PHONE: PartialPolicy{}}}
	d := NewDetector()
	text := "민원인 홍길동 010-1234-5678 hong@example.com"
	masked, spans := d.MaskText(text, p)
	assert.Equal(t, "민원인 "+ps.Replace(Span{Type: PERSON, Text: "홍길동"})+" 010-****-5678 [이메일]", masked)
	assert.Equal(t, masked, Mask(text, spans, p))
	assert.True(t, PerTypePolicy{ByType: map[Type]Policy{PERSON: ps}}.opaque())
	assert.False(t, p.opaque())
	assert.Equal(t, "[이름]", PerTypePolicy{}.Replace(Span{Type: PERSON, Text: "홍길동"}))
	assert.Equal(t, "홍*동", PerTypePolicy{Default: PartialPolicy{}}.Replace(Span{Type: PERSON, Text: "홍길동"}))
}

func TestParsePolicy(t *testing.T) {
	for name, want := range map[string]Policy{"": TagPolicy{}, "tag": TagPolicy{}, " Partial ": PartialPolicy{}} {
		p, err := ParsePolicy(name, nil)
		require.NoError(t, err, name)
		assert.Equal(t, want, p, name)
	}
	p, err := ParsePolicy("pseudonym", testKey("suwon"))
	require.NoError(t, err)
	assert.IsType(t, &PseudonymPolicy{}, p)

	_, err = ParsePolicy("pseudonym", nil)
	assert.ErrorIs(t, err, ErrWeakKey)
	_, err = ParsePolicy("hash", nil)
	assert.ErrorIs(t, err, ErrUnknownPolicy)
	assert.False(t, errors.Is(err, ErrWeakKey))
}

// TestMaskPassesCoveredText checks that Mask gives policies the text they
// replace even when a caller's span has none.
func TestMaskPassesCoveredText(t *testing.T) {
	text := "연락처 010-1234-5678 입니다"
	spans := []Span{{Start: 4, End: 17, Type: PHONE}}
	assert.Equal(t, "연락처 010-****-5678 입니다", Mask(text, spans, PartialPolicy{}))
}
