package locales

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/text/language"
)

// readStrict decodes a catalog file, rejecting anything but one flat object of
// strings and any key given twice (encoding/json would keep the last silently).
func readStrict(data []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("top level is %v, want an object", tok)
	}
	m := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string)
		tok, err = dec.Token()
		if err != nil {
			return nil, err
		}
		val, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("key %q: value %v is not a string", key, tok)
		}
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("key %q given twice", key)
		}
		m[key] = val
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the object")
	}
	return m, nil
}

var placeholderRE = regexp.MustCompile(`\{[a-z_]+\}`)

func placeholders(s string) []string {
	p := placeholderRE.FindAllString(s, -1)
	sort.Strings(p)
	return slices.Compact(p)
}

func TestCatalogFiles(t *testing.T) {
	names, err := fs.Glob(files, "*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 2 {
		t.Fatalf("embedded catalogs %v, want at least en and fr", names)
	}
	enData, err := files.ReadFile("en.json")
	if err != nil {
		t.Fatal(err)
	}
	en, err := readStrict(enData)
	if err != nil {
		t.Fatalf("en.json: %v", err)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			tag := strings.TrimSuffix(name, ".json")
			parsed, err := language.Parse(tag)
			if err != nil {
				t.Fatalf("file name is not a BCP 47 tag: %v", err)
			}
			if parsed.String() != tag {
				t.Errorf("file name %s is not canonical, want %s.json", name, parsed)
			}
			data, err := files.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			m, err := readStrict(data)
			if err != nil {
				t.Fatalf("invalid catalog: %v", err)
			}
			for k := range en {
				if _, ok := m[k]; !ok {
					t.Errorf("missing key %q", k)
				}
			}
			for k, v := range m {
				enV, ok := en[k]
				if !ok {
					t.Errorf("extra key %q (not in en.json)", k)
					continue
				}
				if strings.TrimSpace(v) == "" {
					t.Errorf("key %q is empty", k)
				}
				if got, want := placeholders(v), placeholders(enV); !slices.Equal(got, want) {
					t.Errorf("key %q has placeholders %v, en.json has %v", k, got, want)
				}
				if strings.Count(v, "{") != strings.Count(v, "}") {
					t.Errorf("key %q has unbalanced braces: %q", k, v)
				}
			}
		})
	}
}

func TestLocales(t *testing.T) {
	got := Locales()
	if len(got) < 2 || got[0] != Default || !slices.Contains(got, "fr") {
		t.Fatalf("Locales() = %v, want en first and fr", got)
	}
	for _, loc := range got {
		if c := Catalog(loc); len(c) != len(catalogs[Default]) {
			t.Errorf("Catalog(%q) has %d keys, want %d", loc, len(c), len(catalogs[Default]))
		}
	}
}

// uiLocales are the interface languages tolk ships.
var uiLocales = []string{"en", "ar", "de", "es", "fr", "it", "ja", "ko", "pt", "ru", "tr", "zh"}

func TestUILocales(t *testing.T) {
	if got := Locales(); !slices.Equal(got, uiLocales) {
		t.Fatalf("Locales() = %v, want %v", got, uiLocales)
	}
	for _, loc := range uiLocales {
		if l, ok := LookupLanguage(loc); !ok || l.Native == "" {
			t.Errorf("%s has no native name for the locale links", loc)
		}
		if want := map[bool]string{true: "rtl", false: "ltr"}[loc == "ar"]; Dir(loc) != want {
			t.Errorf("Dir(%s) = %s, want %s", loc, Dir(loc), want)
		}
		if loc == Default {
			continue
		}
		// A catalog that copies English in bulk is not a translation. Some
		// strings may rightly match (units, "Volume", product names).
		en, cat := catalogs[Default], catalogs[loc]
		same := 0
		for k, v := range cat {
			if v == en[k] {
				same++
			}
		}
		if same*10 > len(en) {
			t.Errorf("%s: %d of %d messages are identical to English", loc, same, len(en))
		}
	}
}

// TestCatalogTypography catches slips that are easy to make and hard to see:
// doubled or edge spaces, an ASCII ellipsis, and Latin punctuation glued to
// the text of scripts that use their own.
func TestCatalogTypography(t *testing.T) {
	for _, loc := range Locales() {
		for k, v := range catalogs[loc] {
			if v != strings.TrimSpace(v) || strings.Contains(v, "  ") {
				t.Errorf("%s %s: stray spaces in %q", loc, k, v)
			}
			if strings.Contains(v, "...") {
				t.Errorf("%s %s: use … not ... in %q", loc, k, v)
			}
			if (loc == "zh" || loc == "ja") && strings.ContainsAny(v, "()") && !strings.Contains(v, "(WebRTC)") {
				t.Errorf("%s %s: ASCII parentheses in %q; use （）", loc, k, v)
			}
			if loc == "ar" && strings.ContainsAny(v, ",?") {
				t.Errorf("%s %s: Latin comma or question mark in %q; use ، or ؟", loc, k, v)
			}
		}
	}
}

func TestCatalogFallsBackKeyByKey(t *testing.T) {
	fsys := fstest.MapFS{
		"en.json":    {Data: []byte(`{"a": "A", "b": "B {n}"}`)},
		"xx-YY.json": {Data: []byte(`{}`)},
		"de.json":    {Data: []byte(`{"a": "Ä", "z": "not in en"}`)},
	}
	if _, err := load(fsys); err == nil {
		t.Fatal("load accepted a file name that is not a language tag")
	}
	delete(fsys, "xx-YY.json")
	cats, err := load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	saved := catalogs
	catalogs = cats
	t.Cleanup(func() { catalogs = saved })

	de := Catalog("de-AT")
	if de["a"] != "Ä" || de["b"] != "B {n}" || de["z"] != "" || len(de) != 2 {
		t.Errorf("Catalog(de-AT) = %v, want a from de, b from en, no z", de)
	}
	de["a"] = "changed"
	if Catalog("de")["a"] != "Ä" {
		t.Error("changing a returned catalog changed the package's")
	}
	if got := Catalog("tlh"); got["a"] != "A" {
		t.Errorf("unknown locale: %v, want English", got)
	}
	if got := Catalog("!!"); got["a"] != "A" {
		t.Errorf("malformed locale: %v, want English", got)
	}
}

func TestLoadRejects(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no en":    {"fr.json": {Data: []byte(`{}`)}},
		"bad json": {"en.json": {Data: []byte(`{"a": }`)}},
		"not flat": {"en.json": {Data: []byte(`{"a": {"b": "c"}}`)}},
		"bad name": {"en.json": {Data: []byte(`{}`)}, "english.json": {Data: []byte(`{}`)}},
	} {
		if _, err := load(fsys); err == nil {
			t.Errorf("%s: load succeeded", name)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		accept, query, want string
	}{
		{"", "", "en"},
		{"fr", "", "fr"},
		{"fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7", "", "fr"},
		{"fr-CA", "", "fr"},
		{"FR-be", "", "fr"},
		{"de-DE,de;q=0.9,fr;q=0.8,en;q=0.5", "", "de"},
		{"nl-NL,nl;q=0.9,fr;q=0.8,en;q=0.5", "", "fr"},
		{"nl, en;q=0.4, fr;q=0.6", "", "fr"},
		{"en;q=0.5, fr;q=0.5", "", "en"}, // equal weights keep header order
		{"fr;q=0.5, en;q=0.5", "", "fr"},
		{"fr;q=0, en", "", "en"},
		{"fr;q=2", "", "en"},
		{"fr;q=abc", "", "en"},
		{"*", "", "en"},
		{"*, fr;q=0.1", "", "fr"},
		{"ja, ko", "", "ja"},
		{"sv, da", "", "en"},
		{"zh-TW", "", "zh"},
		{"pt-BR,pt;q=0.9", "", "pt"},
		{"ar-EG", "", "ar"},
		{";;;,,,", "", "en"},
		{"en", "fr", "fr"},                             // ?lang= wins
		{"fr", "en", "en"},                             // ?lang= wins
		{"fr", "FR-ca", "fr"},                          // query is canonicalised
		{"fr", "tlh", "fr"},                            // unsupported query: header decides
		{"fr", "<script>", "fr"},                       // malformed query is ignored
		{"", "nl", "en"},                               // unsupported everywhere
		{strings.Repeat("x-", 3000) + ",fr", "", "en"}, // over-long header is cut
	} {
		if got := Match(tc.accept, tc.query); got != tc.want {
			t.Errorf("Match(%.40q, %q) = %q, want %q", tc.accept, tc.query, got, tc.want)
		}
	}
}

func TestDir(t *testing.T) {
	for tag, want := range map[string]string{
		"ar": "rtl", "he": "rtl", "fa": "rtl", "ur": "rtl", "ar-EG": "rtl", "iw": "rtl",
		"en": "ltr", "fr": "ltr", "zh": "ltr", "": "ltr", "junk!": "ltr", "az-Arab": "rtl", "az": "ltr", "ps": "rtl", "yi": "rtl", "dv": "rtl",
		"pa-Arab": "rtl", "sr-Latn": "ltr",
	} {
		if got := Dir(tag); got != want {
			t.Errorf("Dir(%q) = %q, want %q", tag, got, want)
		}
	}
}

func TestLookupLanguage(t *testing.T) {
	for _, tag := range strings.Fields("en fr es de it pt ru zh ja ko ar tr nl pl sv uk hi he fa ur") {
		l, ok := LookupLanguage(tag)
		if !ok || l.Tag != tag || l.Native == "" || l.English == "" {
			t.Errorf("LookupLanguage(%q) = %+v, %v", tag, l, ok)
		}
	}
	for tag, want := range map[string]Language{
		"FR":    {Tag: "fr", Native: "Français", English: "French"},
		"fr-BE": {Tag: "fr-BE", Native: "Français", English: "French"},
		"pt-br": {Tag: "pt-BR", Native: "Português (Brasil)", English: "Portuguese (Brazil)"},
		"de":    {Tag: "de", Native: "Deutsch", English: "German"},
		"ar-MA": {Tag: "ar-MA", Native: "العربية", English: "Arabic", RTL: true},
		"ja":    {Tag: "ja", Native: "日本語", English: "Japanese"},
	} {
		if got, ok := LookupLanguage(tag); !ok || got != want {
			t.Errorf("LookupLanguage(%q) = %+v, %v; want %+v", tag, got, ok, want)
		}
	}
	for _, tag := range []string{"", "x", "tlh", "not a tag", strings.Repeat("a", 100)} {
		if l, ok := LookupLanguage(tag); ok {
			t.Errorf("LookupLanguage(%q) = %+v, want not found", tag, l)
		}
	}
}

func TestLanguageCatalogue(t *testing.T) {
	all := Languages()
	var rtl []string
	for i, l := range all {
		tag, err := language.Parse(l.Tag)
		if err != nil || tag.String() != l.Tag {
			t.Errorf("%q is not a canonical tag (%v)", l.Tag, err)
		}
		if i > 0 && all[i-1].Tag >= l.Tag {
			t.Errorf("catalogue not sorted or has a duplicate at %q", l.Tag)
		}
		if l.RTL != (Dir(l.Tag) == "rtl") {
			t.Errorf("%q: RTL %v but Dir says %s", l.Tag, l.RTL, Dir(l.Tag))
		}
		if l.RTL {
			rtl = append(rtl, l.Tag)
		}
		if got, ok := LookupLanguage(l.Tag); !ok || got != l {
			t.Errorf("LookupLanguage(%q) = %+v, %v; want %+v", l.Tag, got, ok, l)
		}
		if strings.TrimSpace(l.Native) == "" || strings.TrimSpace(l.English) == "" {
			t.Errorf("%q lacks a name: %+v", l.Tag, l)
		}
	}
	// The languages written right to left, as their speakers know them.
	if want := strings.Fields("ar ckb dv fa he ps sd ug ur yi"); !slices.Equal(rtl, want) {
		t.Errorf("right-to-left languages %v, want %v", rtl, want)
	}
	all[0].Native = "changed"
	if Languages()[0].Native == "changed" {
		t.Error("Languages returned the package's slice")
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("fr-FR,fr;q=0.9,en;q=0.8", "")
	f.Add("*;q=0.1", "fr")
	f.Add(";q=,;;=", "x-")
	f.Fuzz(func(t *testing.T, accept, query string) {
		got := Match(accept, query)
		if !slices.Contains(Locales(), got) {
			t.Fatalf("Match(%q, %q) = %q, not a locale", accept, query, got)
		}
		Dir(query)
		LookupLanguage(query)
	})
}

func BenchmarkMatch(b *testing.B) {
	for b.Loop() {
		Match("de-DE,de;q=0.9,fr-FR;q=0.8,fr;q=0.7,en;q=0.5", "")
	}
}

func BenchmarkCatalog(b *testing.B) {
	for b.Loop() {
		Catalog("fr")
	}
}
