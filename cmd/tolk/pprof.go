package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// checkPprofAddr accepts only a loopback host:port for the profiling
// listener: profiles show the program's memory and goroutines, so they are
// for an operator on the machine (or through an SSH tunnel), never the
// public listener.
func checkPprofAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--pprof %s: want HOST:PORT: %w", addr, err)
	}
	if port == "" {
		return fmt.Errorf("--pprof %s: a port is needed", addr)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--pprof %s: only a loopback address (127.0.0.1, [::1], localhost) is served", addr)
	}
	return nil
}

// pprofHandler serves Go's runtime profiles under /debug/pprof/ on a mux of
// its own (net/http/pprof also registers on http.DefaultServeMux, which tolk
// never serves).
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// newPprofServer is the profiling listener's server. A CPU profile or trace
// runs for the seconds asked (30 by default), so its write timeout is long.
func newPprofServer() *http.Server {
	return &http.Server{Handler: pprofHandler(), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 5 * time.Minute}
}
