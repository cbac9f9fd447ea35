package locales

import "golang.org/x/text/language"

// Language is one spoken or written language as tolk shows it: its BCP 47
// tag, its name in itself (what a viewer looks for in a picker), its English
// name (for operators and logs), and whether its script runs right to left.
type Language struct {
	Tag     string
	Native  string
	English string
	RTL     bool // derived from the tag's likely script, as Dir does
}

// languages is the catalogue, ordered by tag. Regional entries exist only
// where speakers expect to see the region named. RTL is filled in from the
// tag by byTag's initialiser.
var languages = []Language{
	{Tag: "af", Native: "Afrikaans", English: "Afrikaans"},
	{Tag: "ar", Native: "العربية", English: "Arabic"},
	{Tag: "bg", Native: "Български", English: "Bulgarian"},
	{Tag: "bn", Native: "বাংলা", English: "Bengali"},
	{Tag: "ca", Native: "Català", English: "Catalan"},
	{Tag: "ckb", Native: "کوردیی ناوەندی", English: "Central Kurdish"},
	{Tag: "cs", Native: "Čeština", English: "Czech"},
	{Tag: "cy", Native: "Cymraeg", English: "Welsh"},
	{Tag: "da", Native: "Dansk", English: "Danish"},
	{Tag: "de", Native: "Deutsch", English: "German"},
	{Tag: "dv", Native: "ދިވެހި", English: "Dhivehi"},
	{Tag: "el", Native: "Ελληνικά", English: "Greek"},
	{Tag: "en", Native: "English", English: "English"},
	{Tag: "en-GB", Native: "English (UK)", English: "English (United Kingdom)"},
	{Tag: "en-US", Native: "English (US)", English: "English (United States)"},
	{Tag: "es", Native: "Español", English: "Spanish"},
	{Tag: "es-419", Native: "Español (Latinoamérica)", English: "Spanish (Latin America)"},
	{Tag: "et", Native: "Eesti", English: "Estonian"},
	{Tag: "eu", Native: "Euskara", English: "Basque"},
	{Tag: "fa", Native: "فارسی", English: "Persian"},
	{Tag: "fi", Native: "Suomi", English: "Finnish"},
	{Tag: "fr", Native: "Français", English: "French"},
	{Tag: "fr-CA", Native: "Français (Canada)", English: "French (Canada)"},
	{Tag: "ga", Native: "Gaeilge", English: "Irish"},
	{Tag: "gl", Native: "Galego", English: "Galician"},
	{Tag: "he", Native: "עברית", English: "Hebrew"},
	{Tag: "hi", Native: "हिन्दी", English: "Hindi"},
	{Tag: "hr", Native: "Hrvatski", English: "Croatian"},
	{Tag: "hu", Native: "Magyar", English: "Hungarian"},
	{Tag: "hy", Native: "Հայերեն", English: "Armenian"},
	{Tag: "id", Native: "Bahasa Indonesia", English: "Indonesian"},
	{Tag: "is", Native: "Íslenska", English: "Icelandic"},
	{Tag: "it", Native: "Italiano", English: "Italian"},
	{Tag: "ja", Native: "日本語", English: "Japanese"},
	{Tag: "ka", Native: "ქართული", English: "Georgian"},
	{Tag: "kk", Native: "Қазақ тілі", English: "Kazakh"},
	{Tag: "ko", Native: "한국어", English: "Korean"},
	{Tag: "lt", Native: "Lietuvių", English: "Lithuanian"},
	{Tag: "lv", Native: "Latviešu", English: "Latvian"},
	{Tag: "mk", Native: "Македонски", English: "Macedonian"},
	{Tag: "ms", Native: "Bahasa Melayu", English: "Malay"},
	{Tag: "mt", Native: "Malti", English: "Maltese"},
	{Tag: "nb", Native: "Norsk bokmål", English: "Norwegian Bokmål"},
	{Tag: "nl", Native: "Nederlands", English: "Dutch"},
	{Tag: "nn", Native: "Norsk nynorsk", English: "Norwegian Nynorsk"},
	{Tag: "no", Native: "Norsk", English: "Norwegian"},
	{Tag: "pl", Native: "Polski", English: "Polish"},
	{Tag: "ps", Native: "پښتو", English: "Pashto"},
	{Tag: "pt", Native: "Português", English: "Portuguese"},
	{Tag: "pt-BR", Native: "Português (Brasil)", English: "Portuguese (Brazil)"},
	{Tag: "pt-PT", Native: "Português (Portugal)", English: "Portuguese (Portugal)"},
	{Tag: "ro", Native: "Română", English: "Romanian"},
	{Tag: "ru", Native: "Русский", English: "Russian"},
	{Tag: "sd", Native: "سنڌي", English: "Sindhi"},
	{Tag: "sk", Native: "Slovenčina", English: "Slovak"},
	{Tag: "sl", Native: "Slovenščina", English: "Slovenian"},
	{Tag: "sq", Native: "Shqip", English: "Albanian"},
	{Tag: "sr", Native: "Српски", English: "Serbian"},
	{Tag: "sv", Native: "Svenska", English: "Swedish"},
	{Tag: "sw", Native: "Kiswahili", English: "Swahili"},
	{Tag: "ta", Native: "தமிழ்", English: "Tamil"},
	{Tag: "th", Native: "ไทย", English: "Thai"},
	{Tag: "tr", Native: "Türkçe", English: "Turkish"},
	{Tag: "ug", Native: "ئۇيغۇرچە", English: "Uyghur"},
	{Tag: "uk", Native: "Українська", English: "Ukrainian"},
	{Tag: "ur", Native: "اردو", English: "Urdu"},
	{Tag: "vi", Native: "Tiếng Việt", English: "Vietnamese"},
	{Tag: "yi", Native: "ייִדיש", English: "Yiddish"},
	{Tag: "zh", Native: "中文", English: "Chinese"},
	{Tag: "zh-Hans", Native: "简体中文", English: "Chinese (Simplified)"},
	{Tag: "zh-Hant", Native: "繁體中文", English: "Chinese (Traditional)"},
}

// byTag indexes languages by canonical tag, once each entry's writing
// direction is set.
var byTag = func() map[string]Language {
	m := make(map[string]Language, len(languages))
	for i := range languages {
		languages[i].RTL = rtl(languages[i].Tag)
		m[languages[i].Tag] = languages[i]
	}
	return m
}()

// LookupLanguage finds a language by BCP 47 tag, case-insensitively and in any
// canonical spelling ("FR", "iw" for "he"). A tag the catalogue lacks but whose
// base language it has ("fr-BE") is answered with that language's names under
// the requested tag. It reports false for malformed or unknown tags.
func LookupLanguage(tag string) (Language, bool) {
	t, ok := parse(tag)
	if !ok {
		return Language{}, false
	}
	canon := t.String()
	if l, ok := byTag[canon]; ok {
		return l, true
	}
	base, conf := t.Base()
	if conf == language.No {
		return Language{}, false
	}
	l, ok := byTag[base.String()]
	if !ok {
		return Language{}, false
	}
	l.Tag = canon
	l.RTL = rtl(canon) // "az-Arab" differs from "az"
	return l, true
}

// Languages returns the whole catalogue ordered by tag; the slice is a copy.
func Languages() []Language {
	return append([]Language(nil), languages...)
}
