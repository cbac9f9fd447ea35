package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A viewer's access session is a cookie the server signs (HMAC-SHA256 with
// its access key, kept in the data directory): the event, an expiry and what
// opened it, the passcode or a token by id. It holds no secret. A passcode
// session is also bound to a hash of the passcode, so changing the passcode
// (which applies on restart) ends every session it opened; a token session
// holds only while the token is not revoked.

const (
	// accessCookiePrefix names each event's cookie: tolk_access_{event}.
	accessCookiePrefix = "tolk_access_"
	// accessTTL is how long a session lasts; the watch page renews one
	// past half its life, so a viewer who comes back each day stays in.
	accessTTL = 24 * time.Hour
	// maxAccessValue bounds what parseAccess reads: a real value is about
	// 70 bytes.
	maxAccessValue = 256
	// accessVersion starts every value; another version is refused.
	accessVersion = "1"
)

// accessClaim is what a session says: until when, and the token that opened
// it ("" for the passcode).
type accessClaim struct {
	Exp   int64 // Unix seconds
	Token string
}

var errBadAccess = errors.New("not a valid access session")

// accessMAC signs one session's fields. bind is the passcode's hash for a
// passcode session, nothing for a token session.
func accessMAC(key []byte, event, exp, sub string, bind []byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, part := range []string{"tolk access " + accessVersion, event, exp, sub} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	m.Write(bind)
	return m.Sum(nil)
}

// subject is the session's third field: "p" for the passcode, "t" and the
// token id for a token.
func (c accessClaim) subject() string {
	if c.Token == "" {
		return "p"
	}
	return "t" + c.Token
}

// signAccess makes the cookie value of a session of event.
func signAccess(key []byte, event string, bind []byte, c accessClaim) string {
	exp := strconv.FormatInt(c.Exp, 10)
	sub := c.subject()
	if c.Token != "" {
		bind = nil
	}
	mac := base64.RawURLEncoding.EncodeToString(accessMAC(key, event, exp, sub, bind))
	return accessVersion + "." + exp + "." + sub + "." + mac
}

// parseAccess checks a cookie value for event at now: well formed, signed by
// key for this event (and, for a passcode session, for the passcode whose
// hash is bind) and not expired. The comparison of signatures takes the same
// time however much of them agrees.
func parseAccess(key []byte, event string, bind []byte, value string, now time.Time) (accessClaim, error) {
	if len(value) > maxAccessValue {
		return accessClaim{}, errBadAccess
	}
	parts := strings.Split(value, ".")
	if len(parts) != 4 || parts[0] != accessVersion {
		return accessClaim{}, errBadAccess
	}
	exp, sub, sig := parts[1], parts[2], parts[3]
	if len(exp) == 0 || len(exp) > 12 || strings.Trim(exp, "0123456789") != "" || (len(exp) > 1 && exp[0] == '0') {
		return accessClaim{}, errBadAccess
	}
	var c accessClaim
	c.Exp, _ = strconv.ParseInt(exp, 10, 64)
	switch {
	case sub == "p":
	case len(sub) == 9 && sub[0] == 't' && strings.Trim(sub[1:], "0123456789abcdef") == "":
		c.Token = sub[1:]
		bind = nil
	default:
		return accessClaim{}, errBadAccess
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || !hmac.Equal(got, accessMAC(key, event, exp, sub, bind)) {
		return accessClaim{}, errBadAccess
	}
	if now.Unix() >= c.Exp {
		return accessClaim{}, errBadAccess
	}
	return c, nil
}

// hashPasscode is what a passcode is compared and bound by.
func hashPasscode(p string) [sha256.Size]byte {
	return sha256.Sum256([]byte("tolk passcode\x00" + p))
}

// guessLimiter bounds passcode guesses per client network: a burst of
// guessBurst, then one every guessEvery (a generic cell rate algorithm: each
// client is one time, when its next guess would be free). At most
// maxGuessers clients are remembered; past that, idle ones are forgotten, and
// if none is idle, guesses wait.
type guessLimiter struct {
	burst int
	every time.Duration
	max   int

	mu   sync.Mutex
	next map[string]time.Time
}

const (
	guessBurst  = 5
	guessEvery  = 10 * time.Second
	maxGuessers = 16384
)

func newGuessLimiter() *guessLimiter {
	return &guessLimiter{burst: guessBurst, every: guessEvery, max: maxGuessers, next: map[string]time.Time{}}
}

// take spends one guess of client at now: true if it may guess, else false
// and how long until it may.
func (l *guessLimiter) take(client string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	tat, known := l.next[client]
	if !known {
		if len(l.next) >= l.max {
			for k, t := range l.next {
				if !t.After(now) {
					delete(l.next, k)
				}
			}
		}
		if len(l.next) >= l.max {
			return false, l.every
		}
	}
	if tat.Before(now) {
		tat = now
	}
	// The guess is allowed while the client's debt stays within the burst.
	allowAt := tat.Add(-time.Duration(l.burst-1) * l.every)
	if allowAt.After(now) {
		return false, allowAt.Sub(now)
	}
	l.next[client] = tat.Add(l.every)
	return true, 0
}

// guessClient is whom a passcode guess is counted against: the client's
// address, IPv6 by its /64 (one subscriber's network). Behind a reverse
// proxy on the same machine (a loopback peer), the address the proxy last
// added to X-Forwarded-For.
func guessClient(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	if addr.IsLoopback() {
		if f := r.Header.Values("X-Forwarded-For"); len(f) > 0 {
			hops := strings.Split(f[len(f)-1], ",")
			if a, err := netip.ParseAddr(strings.TrimSpace(hops[len(hops)-1])); err == nil {
				addr = a
			}
		}
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}
