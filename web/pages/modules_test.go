package pages

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// pageScripts is the source of a page's own modules: its entry (NAME.js)
// and the modules in static/NAME/.
func pageScripts(t *testing.T, name string) []byte {
	t.Helper()
	js, err := staticFS.ReadFile("static/" + name + ".js")
	if err != nil {
		t.Fatal(err)
	}
	parts, err := fs.Glob(staticFS, "static/"+name+"/*.js")
	if err != nil || len(parts) == 0 {
		t.Fatalf("modules of %s: %v, %v", name, parts, err)
	}
	for _, p := range parts {
		b, err := staticFS.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		js = append(append(js, '\n'), b...)
	}
	return js
}

// modules lists the served ES modules: every script but hls.min.js.
func modules(t *testing.T) []string {
	t.Helper()
	var names []string
	for name := range assets {
		if strings.HasSuffix(name, ".js") && name != "hls.min.js" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if len(names) < 3 || !slices.Contains(names, "watch.js") || !slices.Contains(names, "booth.js") || !slices.Contains(names, "shared/page.js") {
		t.Fatalf("modules %v", names)
	}
	return names
}

// TestModules: every import of a served module names another module by its
// versioned URL, which is served as JavaScript and cacheable for a year;
// every module is reached from a page's entry (watch.js, booth.js), and the
// pages share the modules in shared/.
func TestModules(t *testing.T) {
	static := Static()
	line := regexp.MustCompile(`(?m)^(?:import|export)\b[^\n]*\bfrom\b[^\n]*$|^import\s*'[^\n]*$`)
	spec := regexp.MustCompile(`'([^']*)'`)
	imports := map[string][]string{}
	for _, name := range modules(t) {
		for _, l := range line.FindAll(assets[name].data, -1) {
			m := spec.FindSubmatch(l)
			if m == nil {
				t.Errorf("%s: import without a specifier: %s", name, l)
				continue
			}
			u, err := url.Parse(string(m[1]))
			if err != nil || u.Query().Get("v") == "" || !strings.HasPrefix(u.Path, ".") {
				t.Errorf("%s: import %q is not a relative, versioned URL", name, m[1])
				continue
			}
			target := path.Join(path.Dir(name), u.Path)
			imports[name] = append(imports[name], target)
			rec := httptest.NewRecorder()
			static.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+target+"?"+u.RawQuery, nil))
			if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/javascript") ||
				!strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
				t.Errorf("%s imports %s: status %d, %q, Cache-Control %q", name, m[1], rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"))
			}
		}
	}
	reach := func(entry string) map[string]bool {
		seen := map[string]bool{}
		var visit func(string)
		visit = func(n string) {
			if !seen[n] {
				seen[n] = true
				for _, d := range imports[n] {
					visit(d)
				}
			}
		}
		visit(entry)
		return seen
	}
	// The replay page is the watch page's sibling: it plays recordings with
	// the watch page's own modules (page, audio, access), so the two count
	// as one viewer page here.
	viewer := reach("watch.js")
	for n := range reach("replay.js") {
		viewer[n] = true
	}
	pages := []map[string]bool{viewer, reach("booth.js"), reach("console.js"), reach("edit.js")}
	for _, name := range modules(t) {
		n := 0
		for _, p := range pages {
			if p[name] {
				n++
			}
		}
		if n == 0 {
			t.Errorf("%s is imported by no page", name)
		}
		if strings.HasPrefix(name, "shared/") != (n > 1) {
			t.Errorf("%s: imported by %d pages; the shared modules are exactly those more than one page imports", name, n)
		}
	}
}

// TestVersionImports: relative imports of embedded modules get the version,
// whatever the form of the import; any other import is refused.
func TestVersionImports(t *testing.T) {
	files := map[string][]byte{
		"a.js":      []byte("import { b } from './x/b.js';\nimport './x/b.js';\nimport {\n  c,\n} from './x/b.js';\nexport { d } from './x/b.js';\nel.className = 'chat-from'; y = 'z';\n"),
		"x/b.js":    []byte("import * as a from '../a.js';\n"),
		"v.min.js":  []byte("import x from './nope.js';\n"),
		"style.css": []byte("@import './x.css';\n"),
	}
	if err := versionImports(files, "V"); err != nil {
		t.Fatal(err)
	}
	want := "import { b } from './x/b.js?v=V';\nimport './x/b.js?v=V';\nimport {\n  c,\n} from './x/b.js?v=V';\nexport { d } from './x/b.js?v=V';\nel.className = 'chat-from'; y = 'z';\n"
	if got := string(files["a.js"]); got != want {
		t.Errorf("a.js became\n%s", got)
	}
	if got := string(files["x/b.js"]); got != "import * as a from '../a.js?v=V';\n" {
		t.Errorf("x/b.js became %q", got)
	}
	if got := string(files["v.min.js"]); got != "import x from './nope.js';\n" {
		t.Errorf("a minified script was rewritten: %q", got)
	}
	for _, spec := range []string{"./nope.js", "x/b.js", "/static/x/b.js", "../a.js", "./style.css"} {
		files := map[string][]byte{"a.js": []byte("import z from '" + spec + "';\n"), "x/b.js": nil, "style.css": nil}
		if err := versionImports(files, "V"); err == nil {
			t.Errorf("import of %q accepted", spec)
		}
	}
}
