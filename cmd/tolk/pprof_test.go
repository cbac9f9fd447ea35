package main

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// The profiling listener takes only loopback addresses, and serves the
// runtime's profiles on its own mux.
func TestPprofListener(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:6060", "127.0.0.2:0"} {
		if err := checkPprofAddr(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{":6060", "0.0.0.0:6060", "[::]:6060", "192.0.2.1:6060", "example.com:6060", "127.0.0.1", "127.0.0.1:"} {
		if err := checkPprofAddr(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	srv := httptest.NewServer(pprofHandler())
	defer srv.Close()
	for path, want := range map[string]string{"/debug/pprof/": "heap", "/debug/pprof/heap?debug=1": "HeapInuse"} {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(b.String(), want) {
			t.Errorf("GET %s: %s, no %q in the body", path, resp.Status, want)
		}
	}
}
