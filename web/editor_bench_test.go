package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"tolk/captions"
	"tolk/cmd/tolk/event"
	"tolk/internal/store"
	"tolk/web"
)

// editorBench serves the export test event with n French cues.
func editorBench(b *testing.B, n int) (base, token string) {
	b.Helper()
	st, err := store.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	h := serve(b, whipConfig(b), event.Options{}, web.Options{Tokens: st, Cues: st})
	ctx := context.Background()
	for i := 0; i < n; i++ {
		s := int64(i) * 2 * 48000
		if err := st.SaveCue(ctx, "test", captions.Cue{Lang: "fr", Start: s, End: s + 72000, Text: "Bonjour à tous,\net bienvenue à la conférence.", Final: true}); err != nil {
			b.Fatal(err)
		}
	}
	secret, _, err := st.CreateToken(ctx, "test", store.RoleEditor, "", "Bench")
	if err != nil {
		b.Fatal(err)
	}
	return h.http.URL + "/api/events/test/captions/fr", secret
}

// BenchmarkEditorList10k is the editor page's first load: 10 000 cues
// with their reading checks, as JSON over HTTP.
func BenchmarkEditorList10k(b *testing.B) {
	base, tok := editorBench(b, 10000)
	req, _ := http.NewRequest("GET", base+"/cues", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.Status)
		}
		b.ReportMetric(float64(n), "bytes/list")
	}
}

// BenchmarkEditorPatch is one text edit over HTTP among 10 000 cues.
func BenchmarkEditorPatch(b *testing.B) {
	base, tok := editorBench(b, 10000)
	v := 1
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest("PATCH", base+"/cues/5000", strings.NewReader(fmt.Sprintf(`{"text": "édition %d", "version": %d}`, i, v)))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.Status)
		}
		v++
	}
}
