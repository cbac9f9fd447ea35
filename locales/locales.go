// Package locales holds the user-interface message catalogs of tolk's pages and
// the catalogue of spoken languages (tag, native name, writing direction).
//
// A UI locale is one JSON file in this directory, named by its BCP 47 tag
// (en.json, fr.json, pt-BR.json), mapping message keys to strings. Adding a
// locale is dropping such a file in: it is embedded at build time and the
// tests check it against en.json. Placeholders are written {name}.
package locales

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/text/language"
)

// Default is the locale every catalog falls back to, key by key.
const Default = "en"

//go:embed *.json
var files embed.FS

// catalogs maps a canonical locale tag to its messages, parsed once at start.
var catalogs = mustLoad()

func mustLoad() map[string]map[string]string {
	cats, err := load(files)
	if err != nil {
		// The files are part of the binary and checked by the tests; a bad one
		// is a build defect, not an input error.
		panic(err)
	}
	return cats
}

// load parses every *.json file of fsys into a catalog keyed by its canonical tag.
func load(fsys fs.FS) (map[string]map[string]string, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read catalogs: %w", err)
	}
	cats := make(map[string]map[string]string, len(entries))
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || path.Ext(name) != ".json" {
			continue
		}
		tag, err := language.Parse(strings.TrimSuffix(name, ".json"))
		if err != nil {
			return nil, fmt.Errorf("catalog %s: file name is not a language tag: %w", name, err)
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("catalog %s: %w", name, err)
		}
		var m map[string]string
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("catalog %s: %w", name, err)
		}
		cats[tag.String()] = m
	}
	if _, ok := cats[Default]; !ok {
		return nil, fmt.Errorf("no %s.json catalog", Default)
	}
	return cats, nil
}

// Locales returns the tags of the UI locales that have a catalog, sorted, with
// the default locale first.
func Locales() []string {
	out := make([]string, 0, len(catalogs))
	for tag := range catalogs {
		if tag != Default {
			out = append(out, tag)
		}
	}
	sort.Strings(out)
	return append([]string{Default}, out...)
}

// Catalog returns the messages of locale, every key missing there taken from
// the default locale. An unknown locale gets the default catalog; a regional
// tag without its own file ("fr-CA") gets its language's ("fr"). The map is the
// caller's to keep or change.
func Catalog(locale string) map[string]string {
	base := catalogs[Default]
	out := make(map[string]string, len(base))
	for k, v := range base {
		out[k] = v
	}
	if loc, ok := resolve(locale); ok && loc != Default {
		for k, v := range catalogs[loc] {
			if _, known := base[k]; known && v != "" {
				out[k] = v
			}
		}
	}
	return out
}

// resolve maps a requested tag to a locale that has a catalog: the tag itself
// or, failing that, its base language.
func resolve(s string) (string, bool) {
	tag, ok := parse(s)
	if !ok {
		return "", false
	}
	if _, ok := catalogs[tag.String()]; ok {
		return tag.String(), true
	}
	base, conf := tag.Base()
	if conf == language.No {
		return "", false
	}
	if _, ok := catalogs[base.String()]; ok {
		return base.String(), true
	}
	return "", false
}

// Match picks the UI locale of a request. A supported ?lang= query value wins,
// then the most preferred supported language of the Accept-Language header,
// then the default locale. It never fails: bad input is ignored.
func Match(acceptLanguage, query string) string {
	if loc, ok := resolve(query); ok {
		return loc
	}
	for _, want := range parseAcceptLanguage(acceptLanguage) {
		if loc, ok := resolve(want); ok {
			return loc
		}
	}
	return Default
}

// Bounds on the Accept-Language header; browsers send a handful of entries.
const (
	maxAcceptLen     = 4096
	maxAcceptEntries = 32
)

// parseAcceptLanguage returns the language ranges of an Accept-Language header
// (RFC 9110 §12.5.4) ordered by falling quality, equal qualities in header
// order. Malformed entries, "*" and q=0 are dropped.
func parseAcceptLanguage(h string) []string {
	if len(h) > maxAcceptLen {
		h = h[:maxAcceptLen]
	}
	type pref struct {
		tag string
		q   float64
	}
	var prefs []pref
	for i, part := range strings.Split(h, ",") {
		if i >= maxAcceptEntries {
			break
		}
		fields := strings.Split(part, ";")
		tag := strings.TrimSpace(fields[0])
		if tag == "" || tag == "*" {
			continue
		}
		q := 1.0
		for _, param := range fields[1:] {
			k, v, ok := strings.Cut(strings.TrimSpace(param), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1 {
				f = 0 // an unreadable weight makes the entry unusable
			}
			q = f
		}
		if q <= 0 {
			continue
		}
		prefs = append(prefs, pref{tag, q})
	}
	sort.SliceStable(prefs, func(i, j int) bool { return prefs[i].q > prefs[j].q })
	out := make([]string, len(prefs))
	for i, p := range prefs {
		out[i] = p.tag
	}
	return out
}

// Dir returns the writing direction of a locale or language tag for the HTML
// dir attribute: "rtl" when the tag's script, given or most likely (Arabic for
// ar, fa, ur; Hebrew for he), runs right to left, otherwise "ltr".
func Dir(locale string) string {
	if rtl(locale) {
		return "rtl"
	}
	return "ltr"
}

// rtlScripts are the ISO 15924 codes of scripts written right to left.
var rtlScripts = map[string]bool{
	"Adlm": true, "Arab": true, "Hebr": true, "Mand": true, "Nkoo": true,
	"Rohg": true, "Samr": true, "Syrc": true, "Thaa": true,
}

func rtl(tag string) bool {
	t, ok := parse(tag)
	if !ok {
		return false
	}
	script, conf := t.Script()
	return conf != language.No && rtlScripts[script.String()]
}

// parse reads a tag as a request gives it: surrounding space
// ignored, at most 64 bytes, well-formed BCP 47.
func parse(s string) (language.Tag, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return language.Und, false
	}
	t, err := language.Parse(s)
	return t, err == nil
}
