package config

import (
	"strings"
	"testing"
)

// TestOrigins: server.origins takes scheme://host[:port] and names each bad
// entry.
func TestOrigins(t *testing.T) {
	base := "id: o\nfloor: {language: en, source: whip, stream_key: 0123456789abcdef}\nlanguages: [{tag: fr}]\nserver:\n  origins: "
	for _, c := range []struct {
		list, bad string
	}{
		{`["https://events.example", "http://localhost:8080"]`, ""},
		{`["events.example"]`, "server.origins[0]"},
		{`["https://events.example/watch"]`, "server.origins[0]"},
		{`["https://ok.example", "ftp://x.example"]`, "server.origins[1]"},
		{`["https://"]`, "server.origins[0]"},
	} {
		_, err := Parse([]byte(base+c.list+"\n"), nil)
		switch {
		case c.bad == "" && err != nil:
			t.Errorf("%s: %v", c.list, err)
		case c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)):
			t.Errorf("%s: %v, want a problem with %s", c.list, err, c.bad)
		}
	}
}
