package web

import (
	"net/http"
	"strings"
)

// Security headers every answer carries. Pages replace the default
// Content-Security-Policy with their own (web/pages policy()); everything else
// (JSON, playlists, media, errors) is never a document to run or frame.
const (
	defaultCSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
	// permissionsNone turns off the powerful features no page uses.
	permissionsNone = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), display-capture=()"
	// permissionsBooth lets the booth page (and only it) ask for the
	// interpreter's microphone.
	permissionsBooth = "camera=(), microphone=(self), geolocation=(), payment=(), usb=(), display-capture=()"
)

// securityHeaders sets the headers that hold whatever the route: no content
// sniffing, no referrer (which may carry a ?token=) beyond this server, no
// framing by other sites, and the microphone only on booth pages.
func securityHeaders(h http.Header, r *http.Request) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Content-Security-Policy", defaultCSP)
	if isBoothPage(r.URL.Path) {
		h.Set("Permissions-Policy", permissionsBooth)
	} else {
		h.Set("Permissions-Policy", permissionsNone)
	}
}

// isBoothPage reports whether p is a booth page, /booth/{event}/{lang}
// (not its WebSocket).
func isBoothPage(p string) bool {
	rest, ok := strings.CutPrefix(p, "/booth/")
	if !ok {
		return false
	}
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	return len(parts) == 2 && parts[0] != "" && parts[1] != ""
}
