package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// childEnv makes the test binary act as a second process on a data directory.
const childEnv = "TOLK_STORE_TEST_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(child(dir))
	}
	goleak.VerifyTestMain(m)
}

// child creates tokens and revokes every other one, announcing each step on
// stdout once it is committed and waiting for the parent's go-ahead on stdin.
func child(dir string) int {
	in := bufio.NewScanner(os.Stdin)
	s, err := Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	ctx := context.Background()
	for i := 0; i < 40; i++ {
		secret, tok, err := s.CreateToken(ctx, "child", RoleEditor, "", fmt.Sprint("editor ", i))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("new", secret)
		in.Scan()
		if i%2 == 1 {
			if err := s.Revoke(ctx, tok.ID); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			fmt.Println("revoked", secret)
			in.Scan()
		}
	}
	return 0
}

// openT opens dir and closes the store when the test ends; a test may close
// it sooner itself (Close is idempotent).
func openT(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestCreateCheckRevokeList(t *testing.T) {
	ctx := ctxT(t)
	s := openT(t, t.TempDir())
	clock := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	s.now = func() time.Time { clock = clock.Add(time.Second); return clock }

	anne, at, err := s.CreateToken(ctx, "demo", RoleInterpreter, "FR-ca", "  Anne  ")
	if err != nil {
		t.Fatal(err)
	}
	if at.Lang != "fr-CA" || at.Name != "Anne" || at.Role != RoleInterpreter || at.Event != "demo" {
		t.Errorf("token %+v: want canonical lang fr-CA and trimmed name", at)
	}
	if !idRE.MatchString(at.ID) {
		t.Errorf("id %q is not 8 hex digits", at.ID)
	}
	if len(anne) != 32 || strings.Trim(anne, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		t.Errorf("secret %q is not 32 URL-safe characters", anne)
	}
	prod, pt, err := s.CreateToken(ctx, "demo", RoleProducer, "", "")
	if err != nil {
		t.Fatal(err)
	}
	_, et, err := s.CreateToken(ctx, "other", RoleEditor, "", "Ed")
	if err != nil {
		t.Fatal(err)
	}

	got, err := s.Check(ctx, anne)
	if err != nil || got.ID != at.ID || got.Lang != "fr-CA" || got.Name != "Anne" || !got.Created.Equal(at.Created) || got.Revoked != nil {
		t.Fatalf("Check(anne) = %+v, %v; want %+v", got, err, at)
	}
	if got, err := s.Check(ctx, prod); err != nil || got.Role != RoleProducer || got.Lang != "" {
		t.Fatalf("Check(producer) = %+v, %v", got, err)
	}
	if _, err := s.Check(ctx, anne[:31]); !errors.Is(err, ErrUnknownToken) {
		t.Errorf("Check(truncated secret) = %v, want ErrUnknownToken", err)
	}
	if _, err := s.Check(ctx, at.ID); !errors.Is(err, ErrUnknownToken) {
		t.Errorf("Check(public id) = %v, want ErrUnknownToken", err)
	}

	all, err := s.Tokens(ctx, "")
	if err != nil || len(all) != 3 || all[0].ID != at.ID || all[1].ID != pt.ID || all[2].ID != et.ID {
		t.Fatalf("Tokens(\"\") = %+v, %v; want the three, oldest first", all, err)
	}
	demo, err := s.Tokens(ctx, "demo")
	if err != nil || len(demo) != 2 {
		t.Fatalf("Tokens(demo) = %+v, %v", demo, err)
	}
	if none, err := s.Tokens(ctx, "nobody"); err != nil || len(none) != 0 {
		t.Fatalf("Tokens(nobody) = %+v, %v", none, err)
	}

	if err := s.Revoke(ctx, at.ID); err != nil {
		t.Fatal(err)
	}
	got, err = s.Check(ctx, anne)
	if !errors.Is(err, ErrRevoked) || got.ID != at.ID || got.Revoked == nil {
		t.Fatalf("Check(revoked) = %+v, %v; want the token and ErrRevoked", got, err)
	}
	first := *got.Revoked
	if err := s.Revoke(ctx, at.ID); err != nil {
		t.Fatalf("second Revoke: %v", err)
	}
	if got, _ := s.Check(ctx, anne); !got.Revoked.Equal(first) {
		t.Errorf("second Revoke moved the revocation time from %v to %v", first, *got.Revoked)
	}
	// By secret as well.
	if err := s.Revoke(ctx, prod); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Check(ctx, prod); !errors.Is(err, ErrRevoked) {
		t.Errorf("Check(producer revoked by secret) = %v", err)
	}
	if _, err := s.Check(ctx, ""); !errors.Is(err, ErrUnknownToken) {
		t.Errorf("Check(\"\") = %v", err)
	}
	for _, bad := range []string{"00000000", "nonsense", "", anne + "x"} {
		if err := s.Revoke(ctx, bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("Revoke(%q) = %v, want ErrNotFound", bad, err)
		}
	}
	listed, _ := s.Tokens(ctx, "")
	revoked := 0
	for _, tk := range listed {
		if tk.Revoked != nil {
			revoked++
		}
	}
	if revoked != 2 {
		t.Errorf("%d revoked tokens listed, want 2", revoked)
	}
}

// TestSecretNotStored reads every file the database consists of: the secret
// appears nowhere, its SHA-256 does.
func TestSecretNotStored(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	s := openT(t, dir)
	secret, _, err := s.CreateToken(ctx, "demo", RoleInterpreter, "de", "Dora")
	if err != nil {
		t.Fatal(err)
	}
	contents := func() []byte {
		var all []byte
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		return all
	}
	check := func(when string) {
		all := contents()
		if strings.Contains(string(all), secret) {
			t.Errorf("%s: the secret is in the database files", when)
		}
		if !strings.Contains(string(all), string(hashSecret(secret))) {
			t.Errorf("%s: the secret's hash is not in the database files: the test proves nothing", when)
		}
		if !strings.Contains(string(all), "Dora") {
			t.Errorf("%s: the token's name is not in the files: the test proves nothing", when)
		}
	}
	check("open (WAL)")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check("closed")
	if fi, err := os.Stat(filepath.Join(dir, FileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("database file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}

func TestConcurrentCheck(t *testing.T) {
	ctx := ctxT(t)
	s := openT(t, t.TempDir())
	var secrets []string
	for i := 0; i < 16; i++ {
		sec, _, err := s.CreateToken(ctx, "demo", RoleInterpreter, "es", fmt.Sprint("I", i))
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, sec)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				sec := secrets[(g+i)%len(secrets)]
				tk, err := s.Check(ctx, sec)
				if err != nil || tk.Lang != "es" {
					errs <- fmt.Errorf("Check = %+v, %v", tk, err)
					return
				}
				if _, err := s.Check(ctx, sec[1:]+"A"); !errors.Is(err, ErrUnknownToken) {
					errs <- fmt.Errorf("Check(wrong) = %v", err)
					return
				}
			}
			// Writers alongside the readers.
			if _, _, err := s.CreateToken(ctx, "demo", RoleEditor, "", ""); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if all, _ := s.Tokens(ctx, "demo"); len(all) != 16+32 {
		t.Errorf("%d tokens, want %d", len(all), 16+32)
	}
}

// TestTwoHandles is the CLI and the server in one process: each sees the
// other's writes at once, and both can write at the same time.
func TestTwoHandles(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	server := openT(t, dir)
	cli := openT(t, dir)

	sec, tk, err := cli.CreateToken(ctx, "demo", RoleInterpreter, "it", "Ida")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := server.Check(ctx, sec); err != nil || got.ID != tk.ID {
		t.Fatalf("server Check of the CLI's token = %+v, %v", got, err)
	}
	if err := cli.Revoke(ctx, tk.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Check(ctx, sec); !errors.Is(err, ErrRevoked) {
		t.Fatalf("server Check after the CLI revoked = %v, want ErrRevoked", err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, s := range []*Store{server, cli} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if _, _, err := s.CreateToken(ctx, "demo", RoleProducer, "", ""); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent writers: %v", err)
	}
	a, _ := server.Tokens(ctx, "demo")
	b, _ := cli.Tokens(ctx, "demo")
	if len(a) != 101 || len(b) != 101 {
		t.Errorf("handles list %d and %d tokens, want 101", len(a), len(b))
	}
}

// TestTwoProcesses runs a second process on the same directory while this
// one checks and writes: its tokens and revocations count here at once.
func TestTwoProcesses(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	s := openT(t, dir)

	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	ack, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	// Write here while the child writes there.
	done := make(chan error, 1)
	go func() {
		for i := 0; i < 40; i++ {
			if _, _, err := s.CreateToken(ctx, "parent", RoleEditor, "", ""); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()

	var seen, revoked int
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		verb, sec, _ := strings.Cut(sc.Text(), " ")
		tk, err := s.Check(ctx, sec)
		switch verb {
		case "new":
			seen++
			if err != nil || tk.Event != "child" {
				t.Errorf("Check of the child's new token = %+v, %v", tk, err)
			}
		case "revoked":
			revoked++
			if !errors.Is(err, ErrRevoked) {
				t.Errorf("Check of the child's revoked token = %v, want ErrRevoked", err)
			}
		}
		fmt.Fprintln(ack, "ok")
	}
	ack.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v: %s", err, stderr.String())
	}
	if err := <-done; err != nil {
		t.Fatalf("parent writer: %v", err)
	}
	if seen != 40 || revoked != 20 {
		t.Errorf("saw %d new and %d revoked, want 40 and 20", seen, revoked)
	}
	if all, _ := s.Tokens(ctx, ""); len(all) != 80 {
		t.Errorf("%d tokens in all, want 80", len(all))
	}
}

func TestBadInput(t *testing.T) {
	ctx := ctxT(t)
	s := openT(t, t.TempDir())
	long := strings.Repeat("x", 65)
	cases := []struct {
		event, role, lang, name string
		want                    string
	}{
		{"", "producer", "", "", "event"},
		{"Demo", "producer", "", "", "event"},
		{"demo event", "producer", "", "", "event"},
		{"demo/../x", "producer", "", "", "event"},
		{strings.Repeat("a", 65), "producer", "", "", "event"},
		{"demo", "", "", "", "role"},
		{"demo", "admin", "", "", "role"},
		{"demo", "Producer", "", "", "role"},
		{"demo", "interpreter", "", "Anne", "need a language"},
		{"demo", "interpreter", "french", "Anne", "BCP 47"},
		{"demo", "interpreter", "fr_FR!", "Anne", "BCP 47"},
		{"demo", "interpreter", "und", "Anne", "BCP 47"},
		{"demo", "interpreter", "fr", "", "interpreter's name"},
		{"demo", "interpreter", "fr", "   ", "interpreter's name"},
		{"demo", "producer", "fr", "", "only interpreter"},
		{"demo", "editor", "de", "Ed", "only interpreter"},
		{"demo", "editor", "", long, "at most 64"},
		{"demo", "interpreter", "fr", "Anne\tMarie", "printable"},
		{"demo", "interpreter", "fr", "Anne\x00", "printable"},
		{"demo", "interpreter", "fr", "Anne\xff", "printable"},
	}
	for _, c := range cases {
		_, _, err := s.CreateToken(ctx, c.event, Role(c.role), c.lang, c.name)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CreateToken(%q, %q, %q, %q) = %v; want ErrInvalid saying %q", c.event, c.role, c.lang, c.name, err, c.want)
		}
	}
	// 64 characters of any script are fine.
	if _, _, err := s.CreateToken(ctx, "demo", RoleEditor, "", strings.Repeat("é", 64)); err != nil {
		t.Errorf("64-character name: %v", err)
	}
	if _, err := s.Tokens(ctx, "Bad Event"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Tokens(bad event) = %v, want ErrInvalid", err)
	}
	if _, _, err := s.DemoTokens(ctx, "demo", []string{"fr", "klingon!"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("DemoTokens(bad lang) = %v, want ErrInvalid", err)
	}
	if _, _, err := s.DemoTokens(ctx, "Demo", nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("DemoTokens(bad event) = %v, want ErrInvalid", err)
	}
	// Nothing invalid was stored.
	if all, _ := s.Tokens(ctx, ""); len(all) != 1 {
		t.Errorf("%d tokens stored, want only the valid one", len(all))
	}
}

func TestDemoTokens(t *testing.T) {
	ctx := ctxT(t)
	s := openT(t, t.TempDir())
	prod, interp, err := s.DemoTokens(ctx, "demo", []string{"fr", "DE", "es"})
	if err != nil {
		t.Fatal(err)
	}
	if tk, err := s.Check(ctx, prod); err != nil || tk.Role != RoleProducer || tk.Event != "demo" {
		t.Errorf("producer token: %+v, %v", tk, err)
	}
	if len(interp) != 3 {
		t.Fatalf("interpreter tokens for %d languages, want 3: %v", len(interp), interp)
	}
	for _, lang := range []string{"fr", "de", "es"} {
		secs := interp[lang]
		if len(secs) != 2 {
			t.Fatalf("%s: %d tokens, want 2", lang, len(secs))
		}
		for i, sec := range secs {
			tk, err := s.Check(ctx, sec)
			want := []string{"Interpreter A", "Interpreter B"}[i]
			if err != nil || tk.Role != RoleInterpreter || tk.Lang != lang || tk.Name != want {
				t.Errorf("%s[%d]: %+v, %v; want %s", lang, i, tk, err, want)
			}
		}
	}
	// Each run issues new ones.
	prod2, _, err := s.DemoTokens(ctx, "demo", []string{"fr", "de", "es"})
	if err != nil || prod2 == prod {
		t.Fatalf("second run: %v (same producer secret: %v)", err, prod2 == prod)
	}
	if all, _ := s.Tokens(ctx, "demo"); len(all) != 14 {
		t.Errorf("%d demo tokens after two runs, want 14", len(all))
	}
}

func TestMigrations(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	s := openT(t, dir)
	if v, err := s.schemaVersion(ctx); err != nil || v != len(migrations) {
		t.Fatalf("schema version %d, %v; want %d", v, err, len(migrations))
	}
	sec, _, err := s.CreateToken(ctx, "demo", RoleEditor, "", "")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Reopening runs nothing again and keeps the data.
	s = openT(t, dir)
	if v, _ := s.schemaVersion(ctx); v != len(migrations) {
		t.Errorf("schema version %d after reopening, want %d", v, len(migrations))
	}
	if _, err := s.Check(ctx, sec); err != nil {
		t.Errorf("token lost on reopening: %v", err)
	}
	var mode string
	if err := s.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode %q, %v; want wal", mode, err)
	}

	// A database from a newer tolk is refused, not damaged.
	if _, err := s.db.ExecContext(ctx, `UPDATE schema_version SET version = ?`, len(migrations)+1); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open of a newer schema = %v, want a refusal", err)
	}
}

// TestOpenConcurrently opens a fresh directory from many goroutines at once:
// each migration runs once and every Open succeeds.
func TestOpenConcurrently(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	stores := make([]*Store, 8)
	errs := make([]error, 8)
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(dir)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		stores[i].Close()
	}
}

func TestOpenOddPath(t *testing.T) {
	ctx := ctxT(t)
	dir := filepath.Join(t.TempDir(), "a ?b#c%20d")
	s := openT(t, dir)
	if _, _, err := s.CreateToken(ctx, "demo", RoleEditor, "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Errorf("database not where it belongs: %v", err)
	}
	if _, err := Open(""); err == nil {
		t.Error("Open(\"\") succeeded")
	}
}

func FuzzCheck(f *testing.F) {
	s := openT(f, f.TempDir())
	ctx := context.Background()
	var real []string
	for _, lang := range []string{"fr", "de"} {
		sec, tk, err := s.CreateToken(ctx, "demo", RoleInterpreter, lang, "Fuzz")
		if err != nil {
			f.Fatal(err)
		}
		real = append(real, sec)
		// Near misses of real secrets and other things a client may send.
		f.Add(tk.ID)
		f.Add(sec[:31])
		f.Add(sec + "=")
		f.Add(strings.ToUpper(sec))
		f.Add(string(hashSecret(sec)))
		f.Add(fmt.Sprintf("%x", hashSecret(sec)))
	}
	f.Add("")
	f.Add(" ")
	f.Add("' OR 1=1 --")
	f.Add("\x00")
	f.Add(strings.Repeat("A", 32))
	f.Add(strings.Repeat("A", 10000))
	f.Fuzz(func(t *testing.T, secret string) {
		for _, r := range real {
			if secret == r {
				t.Skip()
			}
		}
		tk, err := s.Check(ctx, secret)
		if !errors.Is(err, ErrUnknownToken) || tk != (Token{}) {
			t.Fatalf("Check(%q) = %+v, %v; want ErrUnknownToken", secret, tk, err)
		}
	})
}

// FuzzValidate: any request either fails with ErrInvalid or yields a token
// that satisfies every rule.
func FuzzValidate(f *testing.F) {
	f.Add("demo", "interpreter", "fr", "Anne")
	f.Add("demo", "producer", "", "")
	f.Add("x", "editor", "", "é")
	f.Add("demo", "interpreter", "zh-Hant-TW-u-nu-hanidec", "李")
	f.Add("demo", "interpreter", "en-x-"+strings.Repeat("a", 300), "x")
	f.Fuzz(func(t *testing.T, event, role, lang, name string) {
		tag, nm, err := validate(event, Role(role), lang, name)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		if !eventRE.MatchString(event) || !Role(role).Valid() || utf8Len(nm) > maxName {
			t.Fatalf("accepted %q %q %q %q", event, role, lang, name)
		}
		if (Role(role) == RoleInterpreter) != (tag != "") {
			t.Fatalf("role %q with lang %q", role, tag)
		}
		if tag != "" {
			again, err := canonicalLang(tag)
			if err != nil || again != tag {
				t.Fatalf("canonical tag %q is not stable: %q, %v", tag, again, err)
			}
		}
	})
}

func utf8Len(s string) int { return len([]rune(s)) }

func BenchmarkCheck(b *testing.B) {
	s := openT(b, b.TempDir())
	ctx := context.Background()
	var secrets []string
	for i := 0; i < 1000; i++ {
		sec, _, err := s.CreateToken(ctx, "demo", RoleInterpreter, "fr", "Bench")
		if err != nil {
			b.Fatal(err)
		}
		secrets = append(secrets, sec)
	}
	b.Run("serial", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := s.Check(ctx, secrets[i%len(secrets)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unknown", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Check(ctx, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, ErrUnknownToken) {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := s.Check(ctx, secrets[i%len(secrets)]); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}

func BenchmarkCreateToken(b *testing.B) {
	s := openT(b, b.TempDir())
	ctx := context.Background()
	for b.Loop() {
		if _, _, err := s.CreateToken(ctx, "demo", RoleEditor, "", ""); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSecretsAreSafeArguments(t *testing.T) {
	for i := 0; i < 2000; i++ {
		s, _, err := newSecret()
		if err != nil {
			t.Fatal(err)
		}
		if s[0] == '-' || s[0] == '_' {
			t.Fatalf("secret %q would read as a flag", s)
		}
	}
}

// A server polls RevokedSince to end the sessions of tokens revoked by
// another process; each poll starts from the latest revocation it saw.
func TestRevokedSince(t *testing.T) {
	ctx := ctxT(t)
	s := openT(t, t.TempDir())
	clock := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	s.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	start := clock
	_, a, _ := s.CreateToken(ctx, "demo", RoleInterpreter, "fr", "Anne")
	_, b, _ := s.CreateToken(ctx, "demo", RoleProducer, "", "")
	ids, latest, err := s.RevokedSince(ctx, start)
	if err != nil || len(ids) != 0 || !latest.Equal(start) {
		t.Fatalf("nothing revoked: %v %v %v", ids, latest, err)
	}
	if err := s.Revoke(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	ids, latest, err = s.RevokedSince(ctx, start)
	if err != nil || len(ids) != 1 || ids[0] != a.ID || !latest.After(start) {
		t.Fatalf("one revoked: %v %v %v", ids, latest, err)
	}
	if err := s.Revoke(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	ids, _, err = s.RevokedSince(ctx, latest.Add(time.Millisecond))
	if err != nil || len(ids) != 1 || ids[0] != b.ID {
		t.Fatalf("revoked after the first: %v %v", ids, err)
	}
}
