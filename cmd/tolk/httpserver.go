package main

import (
	"net/http"
	"time"
)

// httpLimits are the HTTP server's timeouts and header bound. Every client
// that stops sending is cut: one that sends no request, or its headers too
// slowly (slowloris), by ReadHeader; a body that trickles, by Read; a keep-
// alive connection left idle, by Idle; a client that stops reading what it
// asked for, by Write. WebSockets (booth, console, captions) clear these
// deadlines when they upgrade and keep their own pings.
type httpLimits struct {
	ReadHeader time.Duration
	// Read bounds the headers and body of a request. It is well above any
	// body tolk takes (SDP offers, JSON, a caption file); past it the
	// request's context ends too, so it must also stay above the longest
	// plain HTTP answer: an LL-HLS blocking request waits at most three
	// target durations (segment_ms ≤ 10 s).
	Read  time.Duration
	Write time.Duration
	Idle  time.Duration
	// MaxHeader bounds the request line and headers, in bytes.
	MaxHeader int
}

// defaultHTTPLimits are what tolk serve uses.
var defaultHTTPLimits = httpLimits{
	ReadHeader: 10 * time.Second,
	Read:       60 * time.Second,
	Write:      2 * time.Minute,
	Idle:       120 * time.Second,
	MaxHeader:  64 << 10,
}

// newHTTPServer is the server tolk serve runs h on.
func newHTTPServer(h http.Handler, l httpLimits) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeader,
		ReadTimeout:       l.Read,
		WriteTimeout:      l.Write,
		IdleTimeout:       l.Idle,
		MaxHeaderBytes:    l.MaxHeader,
	}
}
