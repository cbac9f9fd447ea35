package web

import (
	"context"
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

// originsKey carries the server's allowed origins in a request's context
// to sameOrigin.
type originsKey struct{}

func allowedOrigins(list []string) map[string]bool {
	if len(list) == 0 {
		return nil
	}
	m := make(map[string]bool, len(list))
	for _, o := range list {
		m[strings.ToLower(strings.TrimSuffix(o, "/"))] = true
	}
	return m
}

// withOrigins gives a request that comes with an Origin the server's allowed
// origins (only then: LL-HLS requests stay free of the copy).
func (s *Server) withOrigins(r *http.Request) *http.Request {
	if len(s.origins) == 0 || r.Header.Get("Origin") == "" {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), originsKey{}, s.origins))
}

// originAllowed reports whether origin o is one the operator allowed.
func originAllowed(r *http.Request, o string) bool {
	m, _ := r.Context().Value(originsKey{}).(map[string]bool)
	return m[strings.ToLower(o)]
}
