package web

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var (
	testKey   = []byte("0123456789abcdef0123456789abcdef")
	otherKey  = []byte("fedcba9876543210fedcba9876543210")
	bindGala  = hashPasscode("sesame-42")
	bindOther = hashPasscode("sesame-43")
)

// TestAccessSession: a session verifies only with the key, the event and
// (a passcode session) the passcode it was signed for, until it expires; a
// token session does not depend on the passcode.
func TestAccessSession(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	exp := now.Add(accessTTL).Unix()
	pass := signAccess(testKey, "gala", bindGala[:], accessClaim{Exp: exp})
	tok := signAccess(testKey, "gala", bindGala[:], accessClaim{Exp: exp, Token: "0a1b2c3d"})
	if c, err := parseAccess(testKey, "gala", bindGala[:], pass, now); err != nil || c.Token != "" || c.Exp != exp {
		t.Errorf("passcode session: %+v, %v", c, err)
	}
	if c, err := parseAccess(testKey, "gala", bindOther[:], tok, now); err != nil || c.Token != "0a1b2c3d" {
		t.Errorf("token session under another passcode: %+v, %v", c, err)
	}
	refused := map[string]struct {
		key   []byte
		event string
		bind  []byte
		value string
		now   time.Time
	}{
		"other key":        {otherKey, "gala", bindGala[:], pass, now},
		"other event":      {testKey, "gala-2", bindGala[:], pass, now},
		"passcode changed": {testKey, "gala", bindOther[:], pass, now},
		"expired":          {testKey, "gala", bindGala[:], pass, time.Unix(exp, 0)},
		"empty":            {testKey, "gala", bindGala[:], "", now},
		"later expiry":     {testKey, "gala", bindGala[:], strings.Replace(pass, ".", "."+"9", 1), now},
		"token for passcode": {testKey, "gala", bindGala[:],
			strings.Replace(tok, ".t0a1b2c3d.", ".p.", 1), now},
		"passcode for token": {testKey, "gala", bindGala[:],
			strings.Replace(pass, ".p.", ".t0a1b2c3d.", 1), now},
		"version 2":      {testKey, "gala", bindGala[:], "2" + pass[1:], now},
		"truncated":      {testKey, "gala", bindGala[:], pass[:len(pass)-1], now},
		"padded":         {testKey, "gala", bindGala[:], pass + "=", now},
		"leading zero":   {testKey, "gala", bindGala[:], strings.Replace(pass, ".", ".0", 1), now},
		"five fields":    {testKey, "gala", bindGala[:], pass + ".x", now},
		"upper-case hex": {testKey, "gala", bindGala[:], strings.Replace(tok, "0a1b2c3d", "0A1B2C3D", 1), now},
		"too long":       {testKey, "gala", bindGala[:], pass + strings.Repeat("A", maxAccessValue), now},
	}
	for name, c := range refused {
		if got, err := parseAccess(c.key, c.event, c.bind, c.value, c.now); err == nil {
			t.Errorf("%s: accepted as %+v", name, got)
		}
	}
}

// FuzzAccessSession: any value either is refused or is exactly one the key
// signed; nothing panics.
func FuzzAccessSession(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	exp := now.Add(time.Hour).Unix()
	good := signAccess(testKey, "gala", bindGala[:], accessClaim{Exp: exp})
	goodTok := signAccess(testKey, "gala", nil, accessClaim{Exp: exp, Token: "0a1b2c3d"})
	for _, s := range []string{good, goodTok, "", "1...", "1.0.p.", "1.99999999999.t00000000.AAAA", good[:20]} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		c, err := parseAccess(testKey, "gala", bindGala[:], value, now)
		if err != nil {
			return
		}
		if want := signAccess(testKey, "gala", bindGala[:], c); want != value {
			t.Fatalf("accepted %q, which is not what the key signs for %+v (%q)", value, c, want)
		}
		if c.Exp <= now.Unix() {
			t.Fatalf("accepted an expired session %+v", c)
		}
	})
}

// TestPasscodeCompare: the typed passcode is compared after trimming the
// spaces a phone keyboard adds; an event without a passcode takes none.
func TestPasscodeCompare(t *testing.T) {
	a := eventAccess{protected: true, passcode: true, hash: hashPasscode("Gala 2026")}
	for typed, want := range map[string]bool{"Gala 2026": true, " Gala 2026\n": true, "gala 2026": false, "Gala  2026": false, "": false, "Gala 2026x": false} {
		if got := a.checkPasscode(typed); got != want {
			t.Errorf("checkPasscode(%q) = %v", typed, got)
		}
	}
	none := eventAccess{protected: true, hash: hashPasscode("")}
	if none.checkPasscode("") || none.checkPasscode(" ") {
		t.Error("an event without a passcode takes the empty one")
	}
}

// TestGuessLimiter: five guesses at once, then one per ten seconds; each
// client on its own; a full table forgets idle clients, and refuses new ones
// while none is idle.
func TestGuessLimiter(t *testing.T) {
	l := newGuessLimiter()
	l.max = 3
	t0 := time.Unix(1000, 0)
	for i := range guessBurst {
		if ok, _ := l.take("a", t0); !ok {
			t.Fatalf("guess %d refused", i+1)
		}
	}
	ok, wait := l.take("a", t0)
	if ok || wait != guessEvery {
		t.Fatalf("sixth guess: %v, wait %v; want refused for %v", ok, wait, guessEvery)
	}
	if ok, wait := l.take("a", t0.Add(4*time.Second)); ok || wait != 6*time.Second {
		t.Errorf("4 s later: %v, wait %v; want refused for 6 s", ok, wait)
	}
	if ok, _ := l.take("a", t0.Add(guessEvery)); !ok {
		t.Error("refused once a guess has come back")
	}
	if ok, _ := l.take("a", t0.Add(guessEvery)); ok {
		t.Error("two guesses came back after one period")
	}
	if ok, _ := l.take("b", t0); !ok {
		t.Error("another client is refused")
	}
	if ok, _ := l.take("c", t0); !ok {
		t.Error("a third client is refused")
	}
	// The table is full and no one is idle: a new client waits.
	if ok, wait := l.take("d", t0); ok || wait != guessEvery {
		t.Errorf("a fourth client with a full table: %v, %v", ok, wait)
	}
	// Once b and c are idle, they are forgotten.
	later := t0.Add(guessEvery + time.Second)
	if ok, _ := l.take("d", later); !ok || len(l.next) != 2 {
		t.Errorf("after b and c went idle: %v, %d clients remembered", ok, len(l.next))
	}
	// A client idle for long has its whole burst back.
	much := later.Add(time.Hour)
	for i := range guessBurst {
		if ok, _ := l.take("a", much); !ok {
			t.Fatalf("after an hour, guess %d refused", i+1)
		}
	}
}

// TestGuessClient: guesses count per address, IPv6 per /64; behind a proxy
// on the same machine, per the address it forwards.
func TestGuessClient(t *testing.T) {
	for _, c := range []struct{ remote, xff, want string }{
		{"203.0.113.7:5000", "", "203.0.113.7"},
		{"203.0.113.7:5000", "198.51.100.1", "203.0.113.7"}, // not from a local proxy: ignored
		{"[2001:db8:1:2:3:4:5:6]:443", "", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "", "2001:db8:1:2::/64"},
		{"[::ffff:203.0.113.9]:80", "", "203.0.113.9"},
		{"127.0.0.1:4000", "", "127.0.0.1"},
		{"127.0.0.1:4000", "198.51.100.1", "198.51.100.1"},
		{"127.0.0.1:4000", "10.0.0.1, 198.51.100.2", "198.51.100.2"},
		{"[::1]:4000", "2001:db8::1", "2001:db8::/64"},
		{"127.0.0.1:4000", "garbage", "127.0.0.1"},
		{"not an address", "", "not an address"},
	} {
		r := httptest.NewRequest("POST", "/watch/gala", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := guessClient(r); got != c.want {
			t.Errorf("%s (X-Forwarded-For %q): %q, want %q", c.remote, c.xff, got, c.want)
		}
	}
}

const samplePlaylist = "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-MAP:URI=\"fr/run1/init.mp4\"\n" +
	"#EXT-X-PART:DURATION=0.2,URI=\"fr/run1/part3.0.m4s\",INDEPENDENT=YES\n" +
	"#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"Français\",URI=\"fr/index.m3u8\"\n" +
	"#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"fr/run1/part3.1.m4s\"\n" +
	"#EXT-X-RENDITION-REPORT:URI=\"../es/index.m3u8\",LAST-MSN=3\n" +
	"#EXTINF:2.0,\nfr/run1/seg2.m4s\r\n" +
	"index.m3u8?_HLS_msn=4\n" +
	"https://cdn.example.org/other.m4s\n#EXT-X-SESSION-DATA:DATA-ID=\"x\",VALUE=\"URI=\\\"no\\\"\"\n\n"

// TestTokenPlaylist: a token given in the query reaches every relative URI
// of a playlist, the lines and the URI attributes, and no other server.
func TestTokenPlaylist(t *testing.T) {
	got := string(tokenPlaylist([]byte(samplePlaylist), "token=a%2Bb"))
	for _, want := range []string{
		`URI="fr/run1/init.mp4?token=a%2Bb"`,
		`URI="fr/run1/part3.0.m4s?token=a%2Bb",INDEPENDENT=YES`,
		`URI="fr/index.m3u8?token=a%2Bb"`,
		`URI="fr/run1/part3.1.m4s?token=a%2Bb"`,
		`URI="../es/index.m3u8?token=a%2Bb",LAST-MSN=3`,
		"\nfr/run1/seg2.m4s?token=a%2Bb\r\n",
		"\nindex.m3u8?_HLS_msn=4&token=a%2Bb\n",
		"\nhttps://cdn.example.org/other.m4s\n",
		`VALUE="URI=\"no\""`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the playlist lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "\n") != strings.Count(samplePlaylist, "\n") {
		t.Error("lines were added or lost")
	}
	if privateCache("public, max-age=31536000, immutable") != "private, max-age=31536000, immutable" || privateCache("no-cache") != "private, no-cache" {
		t.Errorf("privateCache: %q, %q", privateCache("public, max-age=31536000, immutable"), privateCache("no-cache"))
	}
}

// FuzzTokenPlaylist: whatever the playlist, the rewrite keeps its lines and
// their comments' text, never panics, and adds the token only to relative
// URIs.
func FuzzTokenPlaylist(f *testing.F) {
	f.Add([]byte(samplePlaylist))
	f.Add([]byte("URI=\"\n#URI=\"x"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, pl []byte) {
		out := tokenPlaylist(pl, "token=T")
		if bytes.Count(out, []byte("\n")) != bytes.Count(pl, []byte("\n")) {
			t.Fatalf("line count changed: %q → %q", pl, out)
		}
		if len(out) < len(pl) {
			t.Fatalf("the playlist shrank: %q → %q", pl, out)
		}
		for i, line := range bytes.Split(out, []byte("\n")) {
			in := bytes.Split(pl, []byte("\n"))[i]
			if bytes.Contains(in, []byte("://")) && !bytes.HasPrefix(bytes.TrimSpace(in), []byte("#")) && !bytes.Equal(line, in) {
				t.Fatalf("an absolute URI was changed: %q → %q", in, line)
			}
		}
	})
}
