package pii

// Read-only word lists behind the Korean context rules. They are tuned on
// the sample complaints: each entry is a word that the rules would
// otherwise take for a name or an address part.

// surnameSyllables holds single-syllable surnames covering nearly all of
// the population, with their initial-sound-law variants (리, 림, 라, ...).
// Surnames that are far more common as word starts than as names (대, 아,
// 어) are left out on purpose.
const surnameSyllables = "김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽" +
	"성차주우구민나진지엄채원천방공현함변염여추도소석선설마길연위표명기반" +
	"왕금옥육인맹제탁국은편용예봉경봉태피감빈범왕리림라량려로뢰룡"

// nonNameFinalSyllables end words and particles (는, 을, 에) but hardly
// ever a given name.
const nonNameFinalSyllables = "는을를에로서고던게며면와과의도만께된들님씨이가요다니히데네등때중측쪽분것"

// ssiNounFinalSyllables make nouns with a glued 씨: 날씨, 글씨, 솜씨,
// 마음씨, 아저씨, 이엔씨 (E&C).
const ssiNounFinalSyllables = "날글솜말불꽃볍홀맘저가음발맵몸입종결엔에쳐직일"

// titleFinalSyllables end titles used with 님: 사장님, 장관님, 변호사님,
// 선생님, 문정부님, 손님.
const titleFinalSyllables = "장관사생부손감모객배님령렁"

// deptFinalSyllables end units named before 주무관: 주택과, 국토부,
// 기계실, 센터.
const deptFinalSyllables = "과부팀국청소처단터사회계반실"

var personStopWords = []string{
	"하나님", "하느님", "성직자", "주인공", "조합원", "공무원", "유공자", "장애인",
	"전문가", "정치인", "연예인", "담당자", "관계자", "지도자", "주무관", "민원인",
	"이름", "성명", "주소", "주소지", "전화", "연락처", "정보", "본인", "가족",
	"자신", "전화번호", "대통령", "국회의원", "시민", "주민", "국민", "여러분",
	"부모", "이모", "고모", "선생", "사장", "원장", "대표", "고객", "이엔",
	// role words that a particle can stretch to three syllables (경찰은)
	"경찰", "경감", "경위", "경사", "순경", "검사", "판사", "기자", "직원", "의사",
	"교사", "교수", "부서", "과장", "팀장", "계장", "주임", "대리", "사원", "기관",
	"업체", "회사", "공단", "구청", "시청", "본인", "부처",
}

var provinceShortNames = []string{
	"서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종",
	"경기", "강원", "충북", "충남", "전북", "전남", "경북", "경남", "제주",
}

// adminStopWords end in 시/구/면 like administrative units but are not.
var adminStopWords = []string{
	"연구", "요구", "친구", "입구", "출구", "가구", "도구", "항구", "지구", "욕구",
	"추구", "기구", "당시", "동시", "역시", "다시", "무시", "즉시", "수시", "표시",
	"감시", "도시", "항시", "임시", "개시", "게시", "지시", "제시", "혹시", "전면",
	"측면", "이면", "표면", "정면", "국면", "방면", "내면", "외면", "화면", "장면",
	"지면", "반면", "체면", "수면", "대면", "서면", "당면", "라면",
}

// roadStopWords end in 로/길 but are not road names.
var roadStopWords = []string{
	"도로", "서로", "새로", "주로", "별로", "실로", "그로", "이로", "진로", "경로",
	"통로", "선로", "항로", "활로", "퇴로", "미로", "과로", "공로", "수로", "대로",
	"따로", "바로", "날로", "절로", "홀로", "스스로", "이길", "그길", "저길", "먼길",
	"갈길", "살길", "뒷길", "앞길", "빗길", "눈길", "발길", "손길", "물길",
}

// lotStopWords end in 동/리 like neighbourhoods and villages but are not.
var lotStopWords = []string{
	"활동", "운동", "행동", "이동", "노동", "자동", "공동", "감동", "변동", "충동",
	"출동", "작동", "가동", "연동", "소동", "폭동", "난동", "선동", "발동", "진동",
	"아동", "부동", "시동", "파동", "유동", "협동", "기동", "생동", "관리", "처리",
	"논리", "정리", "수리", "무리", "거리", "다리", "머리", "자리", "소리", "요리",
	"권리", "승리", "의리", "도리", "윤리", "심리", "진리", "경리", "비리", "총리",
	"분리", "합리", "편리", "유리", "불리", "원리", "미리", "우리",
}

// plateSyllables are the purpose syllables that the plate rules (자동차
// 등록번호판 등의 기준에 관한 고시) assign: private cars 가-마, 거-저, 고-조,
// 구-주; commercial 아, 바, 사, 자; delivery 배; rental 하, 허, 호.
const plateSyllables = "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주아바사자배하허호"

// accountWords announce a bank account anywhere in the window before it.
var accountWords = []string{"계좌", "입금", "송금", "이체", "은행", "뱅크", "예금", "통장"}

// bankNames count as account context only right before the number,
// because most are also ordinary words or place names (국민, 우리, 하나,
// 광주). Names ending in 은행 or 뱅크 are covered by accountWords.
var bankNames = []string{
	"국민", "KB", "신한", "우리", "하나", "농협", "NH", "기업", "IBK", "카카오", "토스",
	"케이", "새마을", "새마을금고", "우체국", "SC제일", "SC", "씨티", "수협", "부산", "대구",
	"경남", "광주", "전북", "제주", "신협", "산업", "KDB", "저축",
}

// passportWords must precede a passport number.
var passportWords = []string{"여권", "passport", "Passport", "PASSPORT"}

// licenseWords let a driver's licence number without its region code or
// hyphens count.
var licenseWords = []string{"면허"}

// vehicleWords let a plate with a space before its last four digits
// (12가 3456) count.
var vehicleWords = []string{"차량", "차 번호", "차번호", "번호판", "자동차", "주차", "승용차", "택시", "트럭"}

// caseWords announce court case numbers, which look like old plates
// (99도1234).
var caseWords = []string{"사건", "법원", "판결", "선고", "판례", "대법"}

// birthLabels announce a date of birth.
var birthLabels = []string{"생년월일", "생일", "출생일", "DOB", "D.O.B", "Date of Birth", "Date of birth",
	"date of birth", "Birth", "birth"}

// phoneWords let a number without its area code count as a phone number.
var phoneWords = []string{"연락처", "전화", "휴대폰", "핸드폰", "휴대전화", "HP", "H.P", "Tel", "TEL", "tel",
	"팩스", "FAX", "Fax"}

// phoneLabels are the 번호 labels that may precede a phone number; any
// other (주문번호, 송장번호, 사건번호) names a different number.
var phoneLabels = []string{"전화번호", "폰번호", "화번호", "연락번호", "팩스번호", "대표번호", "안심번호",
	"직통번호", "내선번호", "HP번호", "회신번호", "발신번호", "수신번호", "상담번호"}

// businessWords let ten plain digits count as a business registration
// number.
var businessWords = []string{"사업자"}

// addressWords let a road or lot without administrative units count as
// an address even where its name alone is ambiguous.
var addressWords = []string{"주소", "거주지", "소재지", "도로명", "사는 곳", "거주하는"}

// roadNounStopWords end in a consonant and 로 like road names (보행로,
// 진입로) but are common nouns; see standaloneAddress.
var roadNounStopWords = []string{
	"보행로", "산책로", "등산로", "진입로", "출입로", "통학로", "통행로", "연결로", "탈출로",
	"대피로", "우회로", "교차로", "활주로", "배수로", "하수로", "고속도로", "자전거도로",
	"순환로", "비상로", "접근로", "이동로", "유통경로", "방문경로",
}
