package pii

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestLabelledValues checks that a value under its explicit label is
// masked even where its checksum or format check fails, and that
// placeholders and other labels are not.
func TestLabelledValues(t *testing.T) {
	runTypeCases(t, BUSINESS_REG, []detectCase{
		{"사업자등록번호: 131-86-29470", "131-86-29470"}, // checksum fails: a typo is still the number
		{"(상호: 남동돌봄센터, 사업자등록번호\n       131-86-29470)", "131-86-29470"},
		{"사업자등록번호 3178148802 원인분석", "3178148802"},
		{"사업자번호 | 481-09-01391", "481-09-01391"},
		// near misses
		{"사업자등록번호 123-45-67890", ""}, // a placeholder
		{"고유번호 314-82-09917", ""},    // another number of the same shape
		{"사업자 2208162518", ""},       // 사업자 alone is no label
	})
	runTypeCases(t, RRN, []detectCase{
		{"주민등록번호: 901301-1234567", "901301-1234567"}, // month 13: mistyped
		{"주민등록번호 600101-2000000", "600101-2000000"},
		{"901301-1234567 은 13월", ""}, // no label
	})
	runTypeCases(t, FRN, []detectCase{
		{"외국인등록번호 851335-5123458", "851335-5123458"},
		{"외국인 851335-5123458", ""}, // 외국인 alone is no label
	})
	runTypeCases(t, DRIVER_LICENSE, []detectCase{
		{"운전면허번호: 10-19-532817-78", "10-19-532817-78"}, // no region 10
		{"운전면허번호 091912345679", "091912345679"},
		{"번호 10-19-123456-78", ""},
		{"운전면허 091912345678 갱신", ""},
	})
	runTypeCases(t, CARD, []detectCase{
		{"카드번호: 9430-1234-5678-9011", "9430-1234-5678-9011"}, // Luhn fails
		{"카드 4111-1111-1111-1112", ""},
	})
	runTypeCases(t, ACCOUNT, []detectCase{
		{"가상계좌(신한 562-091-33810274, 납부자별 고유 계좌)", "562-091-33810274"}, // an unusual grouping
		{"계좌번호: 1107-020-418835", "1107-020-418835"},
		{"계좌 123-45-67890", ""},
	})
	runTypeCases(t, PASSPORT, []detectCase{
		{"여권번호        C7418803", "C7418803"},    // Vietnam
		{"여권(여권번호\nC4F9J7K21)은", "C4F9J7K21"},   // Germany
		{"Passport No. 541238907", "541238907"}, // nine digits
		{"여권번호 A12345678", ""},                  // a placeholder
		{"여권번호 M1234567", ""},
		{"여권번호 ABCDEFG12", ""}, // too few digits
		{"모델 C7418803", ""},
	})
	runTypeCases(t, BIRTH_DATE, []detectCase{
		{"생년월일 950302-2******", "950302-2******"}, // what a masked serial leaves
		{"생년월일: 1958. 3. 16.", "1958. 3. 16."},
	})
	noneOfType(t, FRN, "법인등록번호(110111-5208843 등)는 공개하지 않습니다")
	noneOfType(t, RRN, "법인등록번호: 110111-1208843")
}

func TestIsPlaceholder(t *testing.T) {
	for _, v := range []string{"123-45-67890", "M12345678", "9876543210", "000000-0000000", "A1234567"} {
		assert.True(t, isPlaceholder(v), v)
	}
	for _, v := range []string{"131-86-29470", "C7418803", "12345", "600101-2000000"} {
		assert.False(t, isPlaceholder(v), v)
	}
}

func TestAddressDetails(t *testing.T) {
	runTypeCases(t, ADDRESS, []detectCase{
		{"주소: 경기도 성남시 중원구 둔촌대로 101번길 17-3, 지하1층(성남동)", "경기도 성남시 중원구 둔촌대로 101번길 17-3, 지하1층(성남동)"},
		{"제주시 연동 312-8, 3층", "제주시 연동 312-8, 3층"}, // 연동 is also a word, but 제주시 comes first
		{"두 기기의 연동 312-8 방식", ""},
	})
}

func TestLabelledColumns(t *testing.T) {
	d := NewDetector()
	text := "  연번  성명      주민등록번호      여권번호     사업자등록번호\n" +
		"  ----  --------  ----------------  -----------  --------------\n" +
		"  1     홍길동    901301-1234567    X1948273     131-86-29470\n" +
		"  2     NGUYEN AN 850101-5234567    C7418803     -\n"
	assert.Equal(t, []string{"901301-1234567"}, spansOf(d, text, RRN)) // mistyped month, still the number
	assert.Equal(t, []string{"850101-5234567"}, spansOf(d, text, FRN)) // a foreigner's number under 주민등록번호
	assert.Equal(t, []string{"X1948273", "C7418803"}, spansOf(d, text, PASSPORT))
	assert.Equal(t, []string{"131-86-29470"}, spansOf(d, text, BUSINESS_REG))
	assert.Equal(t, []string{"홍길동", "NGUYEN AN"}, spansOf(d, text, PERSON))

	runTypeCases(t, RRN, []detectCase{
		{"주민등록번호(앞 6자리 포함): 901301-1234567", "901301-1234567"}, // a qualifier after the label
	})
}
