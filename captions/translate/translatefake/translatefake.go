// Package translatefake is a local Google Cloud Translation server for
// tests: a real gRPC server implementing TranslateText that "translates"
// deterministically with a small English word table (French and German),
// keeps text marked translate="no" in HTML as it is, records every request,
// and can be told to fail or to hang.
//
// A word in the table is replaced (its first letter's case kept); any other
// word is kept. A target language without a table gets its text prefixed
// with "[tag] ".
package translatefake

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"cloud.google.com/go/translate/apiv3/translatepb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"tolk/captions/translate"
	"tolk/internal/grpcfake"
)

// Words is the fake's dictionary: English word to its French and German.
var Words = map[string][2]string{
	"hello":   {"bonjour", "hallo"},
	"good":    {"bon", "guten"},
	"morning": {"matin", "morgen"},
	"welcome": {"bienvenue", "willkommen"},
	"to":      {"à", "zu"},
	"the":     {"le", "die"},
	"world":   {"monde", "welt"},
	"thank":   {"merci", "danke"},
	"you":     {"vous", "ihnen"},
	"next":    {"prochain", "nächste"},
	"speaker": {"orateur", "sprecher"},
	"and":     {"et", "und"},
	"is":      {"est", "ist"},
	"our":     {"notre", "unser"},
}

// Server is a running fake; Close stops it.
type Server struct {
	translatepb.UnimplementedTranslationServiceServer
	*grpcfake.Server // Addr, ClientOptions

	mu       sync.Mutex
	requests []*translatepb.TranslateTextRequest
	failures []codes.Code
	hang     chan struct{} // non-nil: requests wait on it (or their end)
}

// New starts a server on a loopback port.
func New() (*Server, error) {
	s := &Server{}
	g, err := grpcfake.Start(func(g *grpc.Server) { translatepb.RegisterTranslationServiceServer(g, s) })
	if err != nil {
		return nil, fmt.Errorf("translatefake: %w", err)
	}
	s.Server = g
	return s, nil
}

// Close stops the server, ending requests that hang.
func (s *Server) Close() {
	s.Hang(false)
	s.Stop()
}

// FailNext makes the next n requests fail with code.
func (s *Server) FailNext(code codes.Code, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, code)
	}
}

// Hang makes requests wait until Hang(false) or until the client gives up.
func (s *Server) Hang(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case on && s.hang == nil:
		s.hang = make(chan struct{})
	case !on && s.hang != nil:
		close(s.hang)
		s.hang = nil
	}
}

// Requests returns copies of the requests received, failed ones included.
func (s *Server) Requests() []*translatepb.TranslateTextRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*translatepb.TranslateTextRequest, len(s.requests))
	for i, r := range s.requests {
		out[i] = proto.Clone(r).(*translatepb.TranslateTextRequest)
	}
	return out
}

// TranslateText implements the service.
func (s *Server) TranslateText(ctx context.Context, req *translatepb.TranslateTextRequest) (*translatepb.TranslateTextResponse, error) {
	s.mu.Lock()
	s.requests = append(s.requests, proto.Clone(req).(*translatepb.TranslateTextRequest))
	hang := s.hang
	var fail codes.Code
	if len(s.failures) > 0 {
		fail, s.failures = s.failures[0], s.failures[1:]
	}
	s.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	if fail != codes.OK {
		return nil, status.Error(fail, "translatefake: failure as told")
	}
	switch {
	case req.GetParent() == "":
		return nil, status.Error(codes.InvalidArgument, "parent is required")
	case req.GetTargetLanguageCode() == "":
		return nil, status.Error(codes.InvalidArgument, "target_language_code is required")
	case len(req.GetContents()) == 0 || len(req.GetContents()) > 1024:
		return nil, status.Error(codes.InvalidArgument, "contents: 1..1024 texts")
	}
	html := req.GetMimeType() == "" || req.GetMimeType() == "text/html"
	resp := &translatepb.TranslateTextResponse{}
	for _, c := range req.GetContents() {
		resp.Translations = append(resp.Translations, &translatepb.Translation{
			TranslatedText: Translate(c, req.GetTargetLanguageCode(), html)})
	}
	return resp, nil
}

var (
	keepRE = regexp.MustCompile(`(?s)<span translate="no">.*?</span>`)
	wordRE = regexp.MustCompile(`[\p{L}']+`)
)

// Translate is what the server answers for one text.
func Translate(text, target string, html bool) string {
	col := -1
	switch base, _, _ := strings.Cut(strings.ToLower(target), "-"); base {
	case "fr":
		col = 0
	case "de":
		col = 1
	}
	if col < 0 {
		return "[" + target + "] " + text
	}
	words := func(s string) string {
		return wordRE.ReplaceAllStringFunc(s, func(w string) string {
			t, ok := Words[strings.ToLower(w)]
			if !ok {
				return w
			}
			out := t[col]
			if r, _ := utf8.DecodeRuneInString(w); unicode.IsUpper(r) {
				r2, n := utf8.DecodeRuneInString(out)
				out = string(unicode.ToUpper(r2)) + out[n:]
			}
			return out
		})
	}
	if !html {
		return words(text)
	}
	var b strings.Builder
	last := 0
	for _, m := range keepRE.FindAllStringIndex(text, -1) {
		b.WriteString(words(text[last:m[0]]))
		b.WriteString(text[m[0]:m[1]])
		last = m[1]
	}
	b.WriteString(words(text[last:]))
	return b.String()
}

// Client starts a fake and the real Cloud Translation client (project
// tolk-test) connected to it; stop closes both, the client first. Tests
// that check for leaked goroutines on return defer stop before that check
// runs.
func Client(t testing.TB) (cl *translate.Cloud, stop func()) {
	t.Helper()
	srv, err := New()
	if err != nil {
		t.Fatal(err)
	}
	cl, err = translate.NewCloud(context.Background(), translate.CloudConfig{Project: "tolk-test", ClientOptions: srv.ClientOptions()})
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	return cl, func() {
		_ = cl.Close()
		srv.Close()
	}
}
