package web

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The LL-HLS tree of a closed event. Its answers are marked private, so a
// shared cache never hands them to a viewer without access (an edge that
// caches a closed event checks each viewer first: GET
// /api/events/{event}/access). A player that sent its token as ?token= (it
// keeps no cookies and sets no headers) finds the token in every URI of the
// playlists it is given, so the rest of the tree opens to it too.

// hlsPreflight answers a CORS preflight for the tree: players on other
// origins send the token as Authorization: Bearer.
func hlsPreflight(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization")
	h.Set("Access-Control-Max-Age", "86400")
	h.Set("Allow", "GET, HEAD, OPTIONS")
	w.WriteHeader(http.StatusNoContent)
}

// privateWriter makes an HLS answer private and, for a token given in the
// query, holds back a playlist to add the token to its URIs.
type privateWriter struct {
	http.ResponseWriter
	query  string // "token=…" to add, or ""
	head   bool
	code   int
	held   bool // a playlist is being held back
	buf    bytes.Buffer
	header bool
}

func newPrivateWriter(w http.ResponseWriter, r *http.Request, g viewerGrant) *privateWriter {
	pw := &privateWriter{ResponseWriter: w, head: r.Method == http.MethodHead}
	if secret := r.URL.Query().Get("token"); secret != "" && bearer(r) == "" && g.via == "token" {
		pw.query = "token=" + url.QueryEscape(secret)
	}
	return pw
}

func (p *privateWriter) WriteHeader(code int) {
	if p.header {
		return
	}
	p.header = true
	h := p.Header()
	// A new slice: the packager shares its header values between answers.
	if cc := h.Get("Cache-Control"); cc != "" && !strings.Contains(cc, "no-store") {
		h["Cache-Control"] = []string{privateCache(cc)}
	}
	if p.query != "" && code == http.StatusOK && strings.HasPrefix(h.Get("Content-Type"), "application/vnd.apple.mpegurl") {
		p.held, p.code = true, code
		return
	}
	p.ResponseWriter.WriteHeader(code)
}

func (p *privateWriter) Write(b []byte) (int, error) {
	if !p.header {
		p.WriteHeader(http.StatusOK)
	}
	if p.held {
		return p.buf.Write(b)
	}
	return p.ResponseWriter.Write(b)
}

// privateCache turns a Cache-Control value into the same for the client's
// cache alone: "public, max-age=31536000, immutable" becomes "private,
// max-age=31536000, immutable".
func privateCache(cc string) string {
	out := []string{"private"}
	for _, d := range strings.Split(cc, ",") {
		d = strings.TrimSpace(d)
		if d != "" && !strings.EqualFold(d, "public") && !strings.EqualFold(d, "private") {
			out = append(out, d)
		}
	}
	return strings.Join(out, ", ")
}

// finish sends a held playlist with the token in its URIs.
func (p *privateWriter) finish() {
	if !p.held {
		return
	}
	body := tokenPlaylist(p.buf.Bytes(), p.query)
	h := p.Header()
	if p.head {
		h.Del("Content-Length")
	} else {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	p.ResponseWriter.WriteHeader(p.code)
	if !p.head {
		_, _ = p.ResponseWriter.Write(body)
	}
}

// tokenPlaylist adds query to every relative URI of a playlist: the URI
// lines and the URI="…" attributes of its tags. Absolute URIs (another
// server's) are left alone, so the token never leaves this one.
func tokenPlaylist(pl []byte, query string) []byte {
	var out bytes.Buffer
	out.Grow(len(pl) + len(pl)/8)
	for i, line := range bytes.Split(pl, []byte("\n")) {
		if i > 0 {
			out.WriteByte('\n')
		}
		s := string(line)
		t := strings.TrimRight(s, "\r")
		switch {
		case strings.TrimSpace(t) == "":
			out.WriteString(s)
		case strings.HasPrefix(t, "#"):
			out.WriteString(tokenAttrs(s, query))
		default:
			out.WriteString(withQuery(t, query) + s[len(t):])
		}
	}
	return out.Bytes()
}

// tokenAttrs adds query to each URI="…" attribute of a tag line.
func tokenAttrs(line, query string) string {
	const attr = `URI="`
	var b strings.Builder
	for {
		i := strings.Index(line, attr)
		if i < 0 {
			b.WriteString(line)
			return b.String()
		}
		// Only an attribute: at the start of the list or after a comma.
		if i > 0 && line[i-1] != ',' && line[i-1] != ':' {
			b.WriteString(line[:i+len(attr)])
			line = line[i+len(attr):]
			continue
		}
		b.WriteString(line[:i+len(attr)])
		line = line[i+len(attr):]
		j := strings.IndexByte(line, '"')
		if j < 0 {
			b.WriteString(line)
			return b.String()
		}
		b.WriteString(withQuery(line[:j], query))
		line = line[j:]
	}
}

// withQuery adds query to a relative URI.
func withQuery(uri, query string) string {
	if uri == "" || strings.Contains(uri, "://") || strings.HasPrefix(uri, "//") {
		return uri
	}
	frag := ""
	if i := strings.IndexByte(uri, '#'); i >= 0 {
		uri, frag = uri[:i], uri[i:]
	}
	if strings.Contains(uri, "?") {
		return uri + "&" + query + frag
	}
	return uri + "?" + query + frag
}
