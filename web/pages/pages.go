// Package pages renders tolk's HTML pages and serves their static assets,
// all embedded in the binary. Every visible string comes from the locales
// catalogs; the pages load no resource from outside the server and run under
// a strict Content-Security-Policy (no inline scripts, styles or handlers).
package pages

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"tolk/locales"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// missing marks a message key absent from every catalog; tests look for it.
const missing = "⟦missing:"

// asset is one embedded static file, its content hash computed once.
type asset struct {
	data  []byte
	ctype string
	etag  string // quoted strong validator
	ver   string // short hash for cache-busting query strings
}

// assets maps a path below /static/ ("watch.js", "shared/page.js") to its
// file.
var assets = mustAssets()

func mustAssets() map[string]asset {
	files := map[string][]byte{}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		files[strings.TrimPrefix(p, "static/")] = data
		return nil
	})
	modVer := moduleVersion(files)
	if err == nil {
		err = versionImports(files, modVer)
	}
	if err != nil {
		panic(fmt.Sprintf("pages: embedded assets: %v", err)) // a build defect
	}
	m := map[string]asset{}
	for name, data := range files {
		sum := sha256.Sum256(data)
		h := hex.EncodeToString(sum[:])
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		ver := h[:12]
		if isModule(name) {
			ver = modVer
		}
		m[name] = asset{data: data, ctype: ctype, etag: `"` + h[:32] + `"`, ver: ver}
	}
	return m
}

// The pages' own scripts are ES modules (every .js asset but a vendored,
// minified one such as hls.min.js, which is a classic script). A page loads
// its entry module (watch.js) by a versioned URL and the browser fetches what
// it imports by the URLs the imports name, so every relative import is served
// rewritten to carry a version too ('./page.js' becomes './page.js?v=…').
// Modules share one version, a hash of all of them, which changes whenever
// any one does: a module's version need not follow its imports' versions.

// importSpec finds the specifier of a static import or re-export written at
// the start of a line: "import … from '…'", "export … from '…'", "import
// '…'", and the "} from '…'" that ends one written over several lines.
var importSpec = regexp.MustCompile(`(?m)^((?:import|export)\b[^'\n]*?\bfrom\s*|import\s*|\}\s*from\s*)'([^'\n]*)'`)

func isModule(name string) bool {
	return strings.HasSuffix(name, ".js") && !strings.HasSuffix(name, ".min.js")
}

// moduleVersion is the version all modules share, computed from their
// sources as written (before versionImports writes it into them).
func moduleVersion(files map[string][]byte) string {
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if isModule(name) {
			fmt.Fprintf(h, "%s\x00%d\x00", name, len(files[name]))
			h.Write(files[name])
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// versionImports rewrites, in place, every module's relative imports to
// carry the modules' version ver. An import of anything but another embedded
// module by a relative path is an error: the page could not load it.
func versionImports(files map[string][]byte, ver string) error {
	for name, data := range files {
		if !isModule(name) {
			continue
		}
		var bad error
		out := importSpec.ReplaceAllFunc(data, func(m []byte) []byte {
			sub := importSpec.FindSubmatch(m)
			spec := string(sub[2])
			target := path.Join(path.Dir(name), spec)
			_, found := files[target]
			relative := strings.HasPrefix(spec, "./") || strings.HasPrefix(spec, "../")
			if !relative || !isModule(target) || !found {
				if bad == nil {
					bad = fmt.Errorf("%s imports %q, which is no embedded module", name, spec)
				}
				return m
			}
			return []byte(string(sub[1]) + "'" + spec + "?v=" + ver + "'")
		})
		if bad != nil {
			return bad
		}
		files[name] = out
	}
	return nil
}

// Static serves the embedded assets. Mount it with
// http.StripPrefix("/static", pages.Static()) at "/static/"; every page uses
// /static/common.css and its own stylesheet and module script (watch.css,
// watch.js), which imports the page's modules (watch/…) and the shared ones
// (shared/…); the watch page also loads /static/hls.min.js. A request whose
// ?v= matches the file's version (as the pages and the modules' imports write
// them) is cacheable for a year; any other is revalidated by ETag.
func Static() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		a, ok := assets[name]
		if !ok {
			writeError(w, http.StatusNotFound, "no such asset: "+name)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.ctype)
		h.Set("ETag", a.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		if r.URL.Query().Get("v") == a.ver {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.data))
	})
}

// assetURL is the URL of an embedded asset with its cache-busting version.
func assetURL(name string) (string, error) {
	a, ok := assets[name]
	if !ok {
		return "", fmt.Errorf("no static asset %q", name)
	}
	return "/static/" + name + "?v=" + a.ver, nil
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

var funcs = template.FuncMap{
	"asset": assetURL,
	"part":  func(id, label, text string) part { return part{id, label, text} },
}

// pageTemplate parses a page's template (templates/NAME.html) with the frame
// and parts all pages share (templates/common.html).
func pageTemplate(name string) *template.Template {
	return template.Must(template.New("common.html").Funcs(funcs).ParseFS(templateFS, "templates/common.html", "templates/"+name+".html"))
}

// page is what every template sees: the page's name, the locale, its
// messages and the data of the page itself.
type page struct {
	Name     string // "watch": names the page's stylesheet, script and message keys
	Locale   string
	Dir      string
	Messages map[string]string
	Locales  []localeLink
	Data     any
}

type localeLink struct {
	Tag, Name, Href string
	Current         bool
}

// localeNav is what the shared locale footer shows: its label and the links.
type localeNav struct {
	Label string
	Links []localeLink
}

// LocaleNav pairs the page's locale links with their label, which each page
// takes from its own messages.
func (p page) LocaleNav(label string) localeNav { return localeNav{Label: label, Links: p.Locales} }

// part is what a repeated piece of markup needs: the id its element ids are
// built from, a label and one more string (a meter's text while silent, a
// form's button).
type part struct{ ID, Label, Text string }

// T returns the message key in the page's locale.
func (p page) T(key string) string {
	if s, ok := p.Messages[key]; ok {
		return s
	}
	return missing + key + "⟧"
}

// TF returns the message key with its {name} placeholders replaced from
// name/value pairs.
func (p page) TF(key string, pairs ...string) string {
	s := p.T(key)
	for i := 0; i+1 < len(pairs); i += 2 {
		s = strings.ReplaceAll(s, "{"+pairs[i]+"}", pairs[i+1])
	}
	return s
}

// newPage resolves the locale and gathers the messages whose keys start with
// the page's name and a dot (what the page's script may need).
func newPage(r *http.Request, name, locale string) page {
	loc := locales.Match("", locale)
	all := locales.Catalog(loc)
	msgs := make(map[string]string, len(all))
	for k, v := range all {
		if strings.HasPrefix(k, name+".") {
			msgs[k] = v
		}
	}
	return page{Name: name, Locale: loc, Dir: locales.Dir(loc), Messages: msgs, Locales: localeLinks(r, loc)}
}

// localeLinks lists the UI locales as links to the same page with ?lang=.
func localeLinks(r *http.Request, current string) []localeLink {
	var out []localeLink
	for _, tag := range locales.Locales() {
		name := tag
		if l, ok := locales.LookupLanguage(tag); ok {
			name = l.Native
		}
		q := url.Values{}
		if r != nil {
			q = r.URL.Query()
		}
		q.Set("lang", tag)
		out = append(out, localeLink{Tag: tag, Name: name, Href: "?" + q.Encode(), Current: tag == current})
	}
	return out
}

// render executes a template into a buffer first, so a failure becomes a
// clean 500 rather than half a page.
func render(w http.ResponseWriter, t *template.Template, p page, csp string) {
	renderStatus(w, t, p, csp, http.StatusOK)
}

// renderStatus is render with another status than 200.
func renderStatus(w http.ResponseWriter, t *template.Template, p page, csp string, code int) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		writeError(w, http.StatusInternalServerError, "render page: "+err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", p.Locale)
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Accept-Language")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// originOf returns the origin of an absolute http(s) URL, or "" for a
// relative one (already covered by 'self').
func originOf(raw string) string {
	u, err := url.Parse(strings.ReplaceAll(raw, "{lang}", "x"))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// policy builds the page's Content-Security-Policy; extra origins are added to
// connect-src and media-src (an HLS or WHEP endpoint on another host).
func policy(extra ...string) string {
	conn := "'self'"
	for _, o := range extra {
		if o != "" && !strings.Contains(conn, o) {
			conn += " " + o
		}
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' data:",
		"media-src 'self' blob: " + strings.TrimPrefix(conn, "'self' "),
		"connect-src " + conn,
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'self'",
	}, "; ")
}
