package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/internal/store"
)

// runT runs the CLI and returns its exit code and output.
func runT(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

var createdRE = regexp.MustCompile(`(?m)^id: +([0-9a-f]{8})\nsecret: +(\S+)\nlink: +(\S+)$`)

// createT issues a token through the CLI and returns id, secret and link.
func createT(t *testing.T, args ...string) (id, secret, link string) {
	t.Helper()
	code, out, errs := runT(append([]string{"token"}, args...)...)
	if code != 0 {
		t.Fatalf("tolk token %v: exit %d: %s", args, code, errs)
	}
	m := createdRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("tolk token %v: no id, secret and link in %q", args, out)
	}
	return m[1], m[2], m[3]
}

func TestTokenCreate(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := filepath.Join(t.TempDir(), "data") // created on first use
	cases := []struct {
		args []string
		link string // the link up to the secret
		role store.Role
		lang string
	}{
		{[]string{"--role", "interpreter", "--lang", "fr", "--name", "Anne"}, "/booth/demo/fr?token=", store.RoleInterpreter, "fr"},
		{[]string{"--role", "interpreter", "--lang", "PT-br", "--name", "João Silva"}, "/booth/demo/pt-BR?token=", store.RoleInterpreter, "pt-BR"},
		{[]string{"--role", "producer"}, "/console/demo?token=", store.RoleProducer, ""},
		{[]string{"--role", "editor", "--name", "Ed"}, "/edit/demo?token=", store.RoleEditor, ""},
		{[]string{"--role", "listener", "--name", "Press pool"}, "/watch/demo?token=", store.RoleListener, ""},
		{[]string{"--role", "interpreter", "--lang", "de", "--name", "Dora", "--base", "http://127.0.0.1:8080/"},
			"http://127.0.0.1:8080/booth/demo/de?token=", store.RoleInterpreter, "de"},
		{[]string{"--role", "producer", "--base", "https://tolk.example.org/live"},
			"https://tolk.example.org/live/console/demo?token=", store.RoleProducer, ""},
	}
	type issued struct {
		id, secret string
		role       store.Role
		lang       string
	}
	var all []issued
	for _, c := range cases {
		args := append([]string{"--data", dir, "--event", "demo"}, c.args...)
		id, secret, link := createT(t, args...)
		if link != c.link+secret {
			t.Errorf("%v: link %q, want %q", c.args, link, c.link+secret)
		}
		all = append(all, issued{id, secret, c.role, c.lang})
	}

	// The printed secrets are the ones the store accepts.
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, is := range all {
		tk, err := s.Check(context.Background(), is.secret)
		if err != nil || tk.ID != is.id || tk.Role != is.role || tk.Lang != is.lang || tk.Event != "demo" {
			t.Errorf("Check(%s) = %+v, %v; want %s %s %s", is.id, tk, err, is.id, is.role, is.lang)
		}
	}
}

func TestTokenListAndRevoke(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	id1, sec1, _ := createT(t, "--data", dir, "--event", "demo", "--role", "interpreter", "--lang", "fr", "--name", "Anne Marie")
	id2, sec2, _ := createT(t, "--data", dir, "--event", "demo", "--role", "producer")
	id3, sec3, _ := createT(t, "--data", dir, "--event", "gala", "--role", "editor", "--name", "Ed")

	code, out, errs := runT("token", "list", "--data", dir)
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, errs)
	}
	for _, sec := range []string{sec1, sec2, sec3} {
		if strings.Contains(out+errs, sec) {
			t.Errorf("list shows a secret:\n%s", out)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "ID EVENT ROLE LANG NAME CREATED REVOKED" {
		t.Fatalf("list: want a header and three rows:\n%s", out)
	}
	row := func(id string) []string {
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, id+" ") {
				return strings.Fields(l)
			}
		}
		t.Fatalf("no row for %s in\n%s", id, out)
		return nil
	}
	// id event role lang name… date time revoked
	if r := row(id1); r[1] != "demo" || r[2] != "interpreter" || r[3] != "fr" || r[4]+" "+r[5] != "Anne Marie" || r[len(r)-1] != "-" {
		t.Errorf("interpreter row %q", r)
	}
	if r := row(id2); r[2] != "producer" || r[3] != "-" || r[4] != "-" {
		t.Errorf("producer row %q", r)
	}

	code, out, _ = runT("token", "list", "--data", dir, "--event", "gala")
	if code != 0 || !strings.Contains(out, id3) || strings.Contains(out, id1) || strings.Contains(out, id2) {
		t.Errorf("list --event gala: exit %d\n%s", code, out)
	}
	code, out, errs = runT("token", "list", "--data", dir, "--event", "nothing-here")
	if code != 0 || out != "" || !strings.Contains(errs, "no tokens") {
		t.Errorf("list of an event without tokens: exit %d, %q, %q", code, out, errs)
	}

	if code, _, errs := runT("token", "revoke", "--data", dir, id1); code != 0 {
		t.Fatalf("revoke: exit %d: %s", code, errs)
	}
	_, out, _ = runT("token", "list", "--data", dir, "--event", "demo")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if r := row(id1); r[len(r)-1] == "-" {
		t.Errorf("revoked token listed as valid: %q", r)
	}
	if r := row(id2); r[len(r)-1] != "-" {
		t.Errorf("other token listed as revoked: %q", r)
	}
	// Revoking twice is fine; so is revoking by secret, which is not echoed.
	if code, _, errs := runT("token", "revoke", "--data", dir, id1); code != 0 {
		t.Errorf("second revoke: exit %d: %s", code, errs)
	}
	code, out, errs = runT("token", "revoke", "--data", dir, sec3)
	if code != 0 || strings.TrimSpace(out) != "revoked token "+id3 || strings.Contains(out+errs, sec3) {
		t.Errorf("revoke by secret: exit %d, %q, %q", code, out, errs)
	}

	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Check(context.Background(), sec1); !errors.Is(err, store.ErrRevoked) {
		t.Errorf("Check of the revoked token = %v", err)
	}
	if _, err := s.Check(context.Background(), sec2); err != nil {
		t.Errorf("Check of the other token = %v", err)
	}
}

func TestTokenBadInput(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	_, secret, _ := createT(t, "--data", dir, "--event", "demo", "--role", "producer")
	missing := filepath.Join(dir, "nope")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"token", "--data", dir, "--role", "producer"}, "--event is required"},
		{[]string{"token", "--data", dir, "--event", "demo"}, "--role is required"},
		{[]string{"token", "--data", dir, "--event", "Demo", "--role", "producer"}, "a-z, 0-9"},
		{[]string{"token", "--data", dir, "--event", "demo", "--role", "admin"}, "producer, interpreter or editor"},
		{[]string{"token", "--data", dir, "--event", "demo", "--role", "interpreter", "--name", "Anne"}, "need a language"},
		{[]string{"token", "--data", dir, "--event", "demo", "--role", "interpreter", "--lang", "xx-!!", "--name", "Anne"}, "BCP 47"},
		{[]string{"token", "--data", dir, "--event", "demo", "--role", "interpreter", "--lang", "fr"}, "interpreter's name"},
		{[]string{"token", "--data", dir, "--event", "demo", "--role", "producer", "--lang", "fr"}, "only interpreter"},
		{[]string{"token", "--data", dir, "--event", "demo", "--role", "editor", "--name", strings.Repeat("n", 65)}, "at most 64"},
		{[]string{"token", "--data", dir, "--event", "demo", "--role", "producer", "--base", "ftp://host"}, "--base"},
		{[]string{"token", "--data", dir, "--event", "demo", "--role", "producer", "--base", "localhost:8080"}, "--base"},
		{[]string{"token", "--data", dir, "--event", "demo", "--role", "producer", "--base", "http://h/?x=1"}, "--base"},
		{[]string{"token", "--data", dir, "--event", "demo", "--role", "producer", "stray"}, "unknown command"},
		{[]string{"token", "--bogus"}, "unknown flag"},
		{[]string{"token", "list", "--data", missing}, "does not exist"},
		{[]string{"token", "list", "--data", dir, "--event", "Bad Event"}, "a-z, 0-9"},
		{[]string{"token", "list", "--data", dir, "extra"}, "unknown command"},
		{[]string{"token", "revoke", "--data", dir}, "accepts 1 arg"},
		{[]string{"token", "revoke", "--data", dir, "a", "b"}, "accepts 1 arg"},
		{[]string{"token", "revoke", "--data", dir, "0badc0de"}, "no token with id 0badc0de"},
		{[]string{"token", "revoke", "--data", dir, secret + "x"}, "no such token"},
		{[]string{"token", "revoke", "--data", missing, "0badc0de"}, "does not exist"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args[1:], " "), func(t *testing.T) {
			code, out, errs := runT(c.args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stdout %q stderr %q", code, out, errs)
			}
			if !strings.Contains(errs, c.want) {
				t.Errorf("stderr %q lacks %q", errs, c.want)
			}
			if strings.Contains(out+errs, secret+"x") {
				t.Errorf("an unknown secret was echoed: %q", errs)
			}
		})
	}
	// None of that stored anything, and a mistyped directory was not created.
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ts, _ := s.Tokens(context.Background(), ""); len(ts) != 1 {
		t.Errorf("%d tokens after bad input, want 1", len(ts))
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the mistyped directory %s: %v, want it not created", missing, err)
	}
}

// TestTokenWhileServing holds the store open as the server does, checking
// tokens without pause, while the CLI issues and revokes on the same
// directory: the server sees each change at its next check.
func TestTokenWhileServing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	server, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	first, _, err := server.CreateToken(ctx, "demo", store.RoleProducer, "", "")
	if err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var checks int
	var checkErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := server.Check(ctx, first); err != nil {
				checkErr = err
				return
			}
			checks++
		}
	}()

	for i := 0; i < 5; i++ {
		id, secret, _ := createT(t, "--data", dir, "--event", "demo", "--role", "interpreter", "--lang", "fr", "--name", "Anne")
		if tk, err := server.Check(ctx, secret); err != nil || tk.ID != id {
			t.Fatalf("server Check of a token the CLI just issued = %+v, %v", tk, err)
		}
		if code, _, errs := runT("token", "revoke", "--data", dir, id); code != 0 {
			t.Fatalf("revoke while serving: exit %d: %s", code, errs)
		}
		if _, err := server.Check(ctx, secret); !errors.Is(err, store.ErrRevoked) {
			t.Fatalf("server Check after the CLI revoked = %v, want ErrRevoked", err)
		}
		if code, _, errs := runT("token", "list", "--data", dir); code != 0 {
			t.Fatalf("list while serving: exit %d: %s", code, errs)
		}
	}
	close(stop)
	wg.Wait()
	if checkErr != nil {
		t.Fatalf("the server's checks failed while the CLI wrote: %v", checkErr)
	}
	if checks == 0 {
		t.Error("the server made no checks")
	}
}

func TestTokenLink(t *testing.T) {
	tk := store.Token{Event: "demo", Role: store.RoleInterpreter, Lang: "zh-Hant"}
	if got := tokenLink("", tk, "a-b_c"); got != "/booth/demo/zh-Hant?token=a-b_c" {
		t.Errorf("interpreter link %q", got)
	}
	tk.Role = store.RoleEditor
	if got := tokenLink("https://h", tk, "s"); got != "https://h/edit/demo?token=s" {
		t.Errorf("editor link %q", got)
	}
}
