package pii

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDetectAccount(t *testing.T) {
	runTypeCases(t, ACCOUNT, []detectCase{
		{"환불은 국민은행 123456-01-123456 으로 부탁드립니다", "123456-01-123456"}, // 6-2-6
		{"입금 계좌: 카카오뱅크 3333-01-1234567", "3333-01-1234567"},         // 4-2-7
		{"계좌번호 1002-123-456789로 이체했습니다", "1002-123-456789"},         // 4-3-6, 우리
		{"하나은행 123-456789-12345", "123-456789-12345"},               // 3-6-5
		{"농협 302-1234-5678-11 로 송금", "302-1234-5678-11"},            // 3-4-4-2
		{"기업은행 계좌 123-456789-01-234", "123-456789-01-234"},          // 3-6-2-3
		{"토스뱅크 1000-1234-5678", "1000-1234-5678"},                   // 4-4-4
		{"대구은행 508-10-123456-7", "508-10-123456-7"},                 // 3-2-6-1
		{"통장으로 입금한 계좌는123456789012입니다", "123456789012"},             // plain 12 digits
		{"1234567890123(국민은행)으로 보내 주세요", "1234567890123"},           // bank named after
		{"새마을금고 9002188856408으로 이체", "9002188856408"},               // reads as FRN, bank wins
		{"환불받을 계좌는 우체국 123456-02-123456 입니다", "123456-02-123456"},   // long window
		// hard negatives
		{"110-123-456789 로 연락", ""},           // shape without banking context
		{"주문번호 1234567890123", ""},            // plain digits without context
		{"입금 확인 후 주문번호 1234567890123 발송", ""}, // the nearest label names another number
		{"송장번호 1234-5678-9012 배송", ""},        // 4-4-4 as a parcel number
		{"이체 금액 1000000000원", ""},             // an amount
		{"계좌 123-45-67890", ""},               // 3-2-5 is the business number shape
		{"우리 집 123-4567-8901", ""},            // 3-4-4 is not an account shape
		{"국민 12345678", ""},                   // too short
		{"국민은행 12345678901234567", ""},        // too long
		{"송금 2019-04-30", ""},                 // a date
	})
	noneOfType(t, ACCOUNT, "입금자 연락처 010-1234-5678") // a phone number stays a phone number
	// The bank name right before counts; the holder after 예금주 is a name.
	text := "신한 110-123-456789 예금주 홍길동"
	assert.Equal(t, []Span{want(text, "110-123-456789", ACCOUNT), want(text, "홍길동", PERSON)}, NewDetector().Detect(text))
}

// noneOfType checks that no span of typ is found in each text; other types
// may be.
func noneOfType(t *testing.T, typ Type, texts ...string) {
	t.Helper()
	d := NewDetector()
	for _, text := range texts {
		for _, sp := range d.Detect(text) {
			assert.NotEqual(t, typ, sp.Type, "%q: %+v", text, sp)
		}
	}
}

func TestDetectPassport(t *testing.T) {
	runTypeCases(t, PASSPORT, []detectCase{
		{"여권번호 M12345678 입니다", "M12345678"}, // old format
		{"여권번호:M123A4567", "M123A4567"},     // new format (since 2021)
		{"여권(S87654321) 사본", "S87654321"},   // single-use passport
		{"Passport No. M987B6543", "M987B6543"},
		{"관용 여권 G12345678", "G12345678"},
		{"외교관 여권 D12345678", "D12345678"},
		{"여권 번호는 R12345678이고", "R12345678"},
		// hard negatives
		{"모델명 M12345678 제품", ""},                    // no passport context
		{"Passport No. M12345678 모델 M87654321", ""}, // checked below: only the first
		{"여권번호 A12345678", ""},                      // not a Korean passport letter
		{"여권번호 M1234567", ""},                       // seven digits
		{"여권번호 M123456789", ""},                     // nine digits
		{"여권번호 XM12345678", ""},                     // glued to another letter
		{"여권번호 M12345678K", ""},                     // glued after
		{"여권번호 M123AB4567", ""},
	}[:7])
	d := NewDetector()
	text := "Passport No. M12345678 모델 M87654321"
	assert.Equal(t, []Span{want(text, "M12345678", PASSPORT)}, d.Detect(text), "the label names the first number only")
	for _, neg := range []string{"모델명 M12345678 제품", "여권번호 A12345678", "여권번호 M1234567", "여권번호 M123456789",
		"여권번호 XM12345678", "여권번호 M12345678K", "여권번호 M123AB4567"} {
		assert.Empty(t, d.Detect(neg), neg)
	}
}

func TestDetectDriverLicense(t *testing.T) {
	runTypeCases(t, DRIVER_LICENSE, []detectCase{
		{"운전면허번호 11-19-123456-78 입니다", "11-19-123456-78"},    // region code 11 서울
		{"면허증 28-05-654321-09로 조회", "28-05-654321-09"},       // 28 경기북부
		{"단속 당시 제시한 번호는 13-12-000001-11", "13-12-000001-11"}, // the shape alone
		{"면허번호: 서울 12-345678-90", "서울 12-345678-90"},         // old form with the region name
		{"경기 05-123456-78 면허", "경기 05-123456-78"},
		{"운전면허 111912345678 갱신", "111912345678"}, // unseparated after 면허
		{"운전면허 12-345678-90", "12-345678-90"},    // old form without the region, after 면허
		// hard negatives
		{"번호 10-19-123456-78", ""},   // region code 10 does not exist
		{"번호 29-19-123456-78", ""},   // nor 29
		{"12-345678-90", ""},         // old form without region or context
		{"111912345678", ""},         // twelve digits without context
		{"11-19-123456-789", ""},     // last group too long
		{"111-19-123456-78", ""},     // first group too long
		{"운전면허 091912345678 갱신", ""}, // region code 09
	})
}

func TestDetectVehicle(t *testing.T) {
	runTypeCases(t, VEHICLE, []detectCase{
		{"12가3456 차량이 매일 주차합니다", "12가3456"},
		{"차량번호 123나4567 신고", "123나4567"}, // three-digit plate (2019)
		{"서울12가3456 택시", "서울12가3456"},    // region of older commercial plates
		{"경기 34바5678 버스", "경기 34바5678"},
		{"차량번호12허3456을", "12허3456"},          // glued after a label; 허 rental
		{"택배 차량 77배1234가", "77배1234"},        // 배 delivery
		{"차량 번호 12가 3456 신고", "12가 3456"},    // spaced, after a car word
		{"가해 차량은 57 구 2853입니다", "57 구 2853"}, // fully spaced, after a car word
		{"(12가3456)", "12가3456"},
		// hard negatives
		{"사건번호 2023가합12345", ""}, // case number
		{"대법원 99도1234 판결", ""},   // old case number in court context
		{"해결 방법이 12가지", ""},      // 가지 (kinds)
		{"무역적자 27조2580억원", ""},   // an amount in 조
		{"12가 3456", ""},         // spaced without a car word
		{"1가3456", ""},           // one digit
		{"1234가5678", ""},        // four digits
		{"12가34567", ""},         // five digits after
		{"12갸3456", ""},          // not a purpose syllable
		{"12육3456", ""},          // military plates are not civilian data
		{"모델12가3456", ""},        // glued to a word that is not a label
	})
	noneOfType(t, VEHICLE, "봉래동2가 122번지") // a place name (an ADDRESS)
}

func TestDetectBirthDate(t *testing.T) {
	runTypeCases(t, BIRTH_DATE, []detectCase{
		{"생년월일: 1990-01-01", "1990-01-01"},
		{"생년월일은 1990년 1월 1일이고", "1990년 1월 1일"},
		{"생년월일(양력) 1990.1.1", "1990.1.1"},
		{"생년월일 1990. 1. 1. 입니다", "1990. 1. 1."}, // the official notation ends in a dot
		{"생년월일 1990. 1. 1 입니다", "1990. 1. 1"},
		{"DOB 19900101", "19900101"},
		{"Date of Birth: 90-01-01", "90-01-01"},
		{"생일 900101", "900101"},
		{"저는 66년11월28일생 김**입니다", "66년11월28일"}, // followed by 생
		{"2000.02.29생", "2000.02.29"},         // leap day
		// hard negatives
		{"2019-04-30 접수", ""},   // a date without a label
		{"발생일시 2017년9월20일", ""}, // 생일 inside 발생일
		{"사건 발생일이 2018년 12월 31일", ""},
		{"생년월일 1990-02-30", ""}, // no such date
		{"생년월일 1890-01-01", ""}, // out of range
		{"1990.01.01생활", ""},    // 생활, not 생
	})
	d := NewDetector()
	text := "생년월일: 19590703 2024-06-22에 점검"
	assert.Equal(t, []Span{want(text, "19590703", BIRTH_DATE)}, d.Detect(text))
	text = "생년월일 900101-1234568"
	assert.Equal(t, []Span{want(text, "900101-1234568", RRN)}, d.Detect(text))
}

func TestDetectImprovedPhoneAndBusiness(t *testing.T) {
	runTypeCases(t, PHONE, []detectCase{
		{"연락처 234-5678 (자택)", "234-5678"}, // no area code, after 연락처
		{"전화: 3146-1316", "3146-1316"},
		{"HP 01094096691 2월 12일", "01094096691"}, // followed by another number
		{"번호는 010 - 7972 - 3119 입니다", "010 - 7972 - 3119"},
		{"전화번호: 02-123-4567", "02-123-4567"},
		{"번호: 010-1234-5678", "010-1234-5678"},
		// hard negatives
		{"234-5678", ""},            // no context
		{"연락처 123-4567", ""},        // exchanges never start with 1
		{"전화 1990-2000년", ""},       // a year range
		{"송장번호 0503-8867-0632", ""}, // labelled as another number
		{"ORD-05079525-9861", ""},   // glued to a code by a hyphen
		{"KR-010-1234-5678", ""},
	})
	runTypeCases(t, BUSINESS_REG, []detectCase{
		{"사업자 2208162517 상호 변경", "2208162517"},
		{"사업자등록번호: 1058700005", "1058700005"},
		{"2208162517", ""},          // no context
		{"사업자 2208162518", ""},      // checksum fails
		{"사업자 22081625171", ""},     // eleven digits
		{"주문번호 2208162517 사업자", ""}, // context after only
	})
}

func TestDetectPersonImproved(t *testing.T) {
	runTypeCases(t, PERSON, []detectCase{
		{"피해자 김모(33)씨가 신고했다", "김모"}, // age between name and 씨
		{"이승현(29·회사원) 씨와 만났다", "이승현"},
		{"이 사건의 피의자 박씨는 도주했다", "박씨"}, // a surname alone keeps its 씨
		{"그날 윤 씨가 왔다", "윤 씨"},
		{"성명: 김민서", "김민서"}, // given names in 서
		{"이윤서 씨가 방문", "이윤서"},
		{"민원인 박은서는 요청", "박은서"},
		// hard negatives
		{"담당 경찰서도 모른다", ""}, // 서 ends an institution
		{"성명: 신청서", ""},     // and a document
		{"이 씨앗을 심었다", ""},   // 씨앗
		{"그 씨는 누구", ""},     // 그 is not a surname
		{"날씨(맑음) 좋다", ""},   // no name before the bracket
		{"회의에서 씨름", ""},
	})
	d := NewDetector()
	// A surname alone is masked with its 씨 so that the syllable itself is
	// not masked everywhere else in the text.
	masked, _ := d.MaskText("이 사건에서 이 씨는 이미 떠났다", nil)
	assert.Equal(t, "이 사건에서 [이름]는 이미 떠났다", masked)
}

// TestNewTypesInContext checks several new types in one complaint with
// code-point offsets written out by hand.
func TestNewTypesInContext(t *testing.T) {
	d := NewDetector()
	text := "여권번호 M123A4567, 차량 12가3456, 신한 110-123-456789, 생년월일 1990.1.1"
	assert.Equal(t, []Span{
		{Start: 5, End: 14, Type: PASSPORT, Text: "M123A4567"},
		{Start: 19, End: 26, Type: VEHICLE, Text: "12가3456"},
		{Start: 31, End: 45, Type: ACCOUNT, Text: "110-123-456789"},
		{Start: 52, End: 60, Type: BIRTH_DATE, Text: "1990.1.1"},
	}, d.Detect(text))
	masked, _ := d.MaskText(text, TagPolicy{})
	assert.Equal(t, "여권번호 [여권번호], 차량 [차량번호], 신한 [계좌번호], 생년월일 [생년월일]", masked)
}
