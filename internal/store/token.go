package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	sqlite3 "github.com/mattn/go-sqlite3"
	"golang.org/x/text/language"
)

// Role is what a token lets its holder do.
type Role string

// The roles. Interpreters are bound to one language of one event; producers,
// editors and listeners to one event. A listener token opens the viewer side
// (watch page, WHEP, LL-HLS, live captions) of an event whose access is
// closed; it opens nothing else.
const (
	RoleProducer    Role = "producer"
	RoleInterpreter Role = "interpreter"
	RoleEditor      Role = "editor"
	RoleListener    Role = "listener"
)

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool {
	return r == RoleProducer || r == RoleInterpreter || r == RoleEditor || r == RoleListener
}

// Token describes an access token. The secret itself is never stored: only
// CreateToken and DemoTokens ever see it.
type Token struct {
	ID      string // short public id (8 hex digits) for listing and revoking
	Event   string
	Role    Role
	Lang    string // canonical BCP 47 tag; interpreters only
	Name    string // who holds it, e.g. the interpreter's name
	Created time.Time
	Revoked *time.Time // nil while the token is valid
}

var (
	// ErrUnknownToken: no token has this secret.
	ErrUnknownToken = errors.New("unknown token")
	// ErrRevoked: the token existed but was revoked.
	ErrRevoked = errors.New("token revoked")
	// ErrNotFound: no token has this id (or secret) to revoke.
	ErrNotFound = errors.New("no such token")
	// ErrInvalid is wrapped by every validation error from CreateToken
	// and DemoTokens.
	ErrInvalid = errors.New("invalid token request")
)

// invalid is a validation error that matches ErrInvalid.
type invalid string

func (e invalid) Error() string        { return string(e) }
func (e invalid) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, a ...any) error { return invalid(fmt.Sprintf(format, a...)) }

const (
	secretBytes = 24 // 192 bits, 32 URL-safe characters
	idBytes     = 4  // 8 hex digits
	// maxSecret bounds what Check hashes; real secrets are 32 characters.
	maxSecret = 256
	maxName   = 64
)

var (
	eventRE = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)
	idRE    = regexp.MustCompile(`^[0-9a-f]{8}$`)
)

// checkEvent refuses an event id that URLs and file names could not carry.
func checkEvent(event string) error {
	if !eventRE.MatchString(event) {
		return invalidf("event %q: must be 1-64 characters of a-z, 0-9 and -", event)
	}
	return nil
}

// tokenColumns are read by scanToken, in this order.
const tokenColumns = `id, event, role, lang, name, created, revoked`

// validate checks a token request and returns the canonical language tag
// and the trimmed name.
func validate(event string, role Role, lang, name string) (string, string, error) {
	if err := checkEvent(event); err != nil {
		return "", "", err
	}
	if !role.Valid() {
		return "", "", invalidf("role %q: must be listener, producer, interpreter or editor", role)
	}
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", "", invalidf("name: must be printable text")
	}
	if n := utf8.RuneCountInString(name); n > maxName {
		return "", "", invalidf("name: %d characters, at most %d", n, maxName)
	}
	if role != RoleInterpreter {
		if lang != "" {
			return "", "", invalidf("lang: only interpreter tokens have a language, not %s tokens", role)
		}
		return "", name, nil
	}
	tag, err := canonicalLang(lang)
	if err != nil {
		return "", "", err
	}
	if name == "" {
		return "", "", invalidf("name: interpreter tokens need the interpreter's name")
	}
	return tag, name, nil
}

func canonicalLang(lang string) (string, error) {
	if lang == "" {
		return "", invalidf("lang: interpreter tokens need a language (BCP 47, e.g. fr or pt-BR)")
	}
	t, err := language.Parse(lang)
	if err != nil || t == language.Und {
		return "", invalidf("lang %q: not a BCP 47 language tag", lang)
	}
	return t.String(), nil
}

// newSecret draws a secret that does not start with '-' or '_', so that it
// can be typed as a command-line argument (tolk token revoke SECRET), and
// returns it with its hash.
func newSecret() (string, []byte, error) {
	b := make([]byte, secretBytes)
	for {
		if _, err := rand.Read(b); err != nil {
			return "", nil, fmt.Errorf("random secret: %w", err)
		}
		secret := base64.RawURLEncoding.EncodeToString(b)
		if secret[0] != '-' && secret[0] != '_' {
			return secret, hashSecret(secret), nil
		}
	}
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// execer is a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// insertToken stores a new token under a fresh random id, retrying the rare
// id collision.
func (s *Store) insertToken(ctx context.Context, ex execer, event string, role Role, lang, name string) (string, Token, error) {
	secret, hash, err := newSecret()
	if err != nil {
		return "", Token{}, err
	}
	t := Token{Event: event, Role: role, Lang: lang, Name: name, Created: s.now().UTC().Truncate(time.Millisecond)}
	for attempt := 0; ; attempt++ {
		id := make([]byte, idBytes)
		if _, err := rand.Read(id); err != nil {
			return "", Token{}, fmt.Errorf("random id: %w", err)
		}
		t.ID = hex.EncodeToString(id)
		_, err = ex.ExecContext(ctx, `INSERT INTO tokens (id, hash, event, role, lang, name, created) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			t.ID, hash, t.Event, string(t.Role), t.Lang, t.Name, t.Created.UnixMilli())
		var se sqlite3.Error
		if errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey && attempt < 5 {
			continue
		}
		if err != nil {
			return "", Token{}, fmt.Errorf("store token: %w", err)
		}
		return secret, t, nil
	}
}

// CreateToken issues a token and returns its secret, which is not kept: it is
// the caller's one chance to hand it out. Invalid requests return an error
// matching ErrInvalid. lang is canonicalised (FR-ca becomes fr-CA).
func (s *Store) CreateToken(ctx context.Context, event string, role Role, lang, name string) (string, Token, error) {
	lang, name, err := validate(event, role, lang, name)
	if err != nil {
		return "", Token{}, err
	}
	return s.insertToken(ctx, s.db, event, role, lang, name)
}

// DemoTokens issues, for the demo event, one producer token and two
// interpreter tokens per language ("Interpreter A" and "Interpreter B").
// interpreters maps each canonical language tag to its two secrets. Each call
// issues new tokens; earlier ones stay valid.
func (s *Store) DemoTokens(ctx context.Context, event string, langs []string) (producer string, interpreters map[string][]string, err error) {
	if err := checkEvent(event); err != nil {
		return "", nil, err
	}
	tags := make([]string, 0, len(langs))
	for _, l := range langs {
		tag, err := canonicalLang(l)
		if err != nil {
			return "", nil, err
		}
		tags = append(tags, tag)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return "", nil, fmt.Errorf("store: %w", err)
	}
	defer tx.Rollback()
	if producer, _, err = s.insertToken(ctx, tx, event, RoleProducer, "", "Demo producer"); err != nil {
		return "", nil, err
	}
	interpreters = make(map[string][]string, len(tags))
	for _, tag := range tags {
		for _, who := range []string{"Interpreter A", "Interpreter B"} {
			secret, _, err := s.insertToken(ctx, tx, event, RoleInterpreter, tag, who)
			if err != nil {
				return "", nil, err
			}
			interpreters[tag] = append(interpreters[tag], secret)
		}
	}
	if err := tx.Commit(); err != nil {
		return "", nil, fmt.Errorf("store: %w", err)
	}
	return producer, interpreters, nil
}

// Tokens lists the tokens of one event, or of all events if event is "",
// oldest first.
func (s *Store) Tokens(ctx context.Context, event string) ([]Token, error) {
	if event != "" {
		if err := checkEvent(event); err != nil {
			return nil, err
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE ? = '' OR event = ? ORDER BY created, id`, event, event)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var ts []Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return ts, nil
}

// Revoke revokes a token given its public id or its secret. Revoking a
// revoked token keeps the first revocation time and succeeds. An unknown
// token returns ErrNotFound.
func (s *Store) Revoke(ctx context.Context, idOrSecret string) error {
	now := s.now().UTC().Truncate(time.Millisecond).UnixMilli()
	var res sql.Result
	var err error
	if idRE.MatchString(idOrSecret) {
		res, err = s.db.ExecContext(ctx, `UPDATE tokens SET revoked = COALESCE(revoked, ?) WHERE id = ?`, now, idOrSecret)
	} else {
		res, err = s.db.ExecContext(ctx, `UPDATE tokens SET revoked = COALESCE(revoked, ?) WHERE hash = ?`, now, hashSecret(idOrSecret))
	}
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	// SQLite counts matched rows, changed or not.
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("revoke: %w", err)
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}

// RevokedSince lists the ids of tokens revoked at or after since (by this
// process or another on the same data directory) and the latest revocation
// time among them (since itself when there is none): a server polls it to
// end the live sessions of tokens revoked from the command line.
func (s *Store) RevokedSince(ctx context.Context, since time.Time) ([]string, time.Time, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, revoked FROM tokens WHERE revoked >= ? ORDER BY revoked`, since.UnixMilli())
	if err != nil {
		return nil, since, fmt.Errorf("revoked tokens: %w", err)
	}
	defer rows.Close()
	var ids []string
	latest := since
	for rows.Next() {
		var id string
		var at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, since, fmt.Errorf("revoked tokens: %w", err)
		}
		ids = append(ids, id)
		latest = time.UnixMilli(at).UTC()
	}
	if err := rows.Err(); err != nil {
		return nil, since, fmt.Errorf("revoked tokens: %w", err)
	}
	return ids, latest, nil
}

// Token returns the token with a public id, revoked or not; ErrNotFound if
// there is none. A server checks by it that a session it signed for a token
// (a viewer's cookie) still holds.
func (s *Store) Token(ctx context.Context, id string) (Token, error) {
	if !idRE.MatchString(id) {
		return Token{}, ErrNotFound
	}
	t, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, ErrNotFound
	}
	return t, err
}

// Check returns the token a secret belongs to: ErrUnknownToken if none,
// ErrRevoked (with the token, so callers can log its id) if it was revoked.
// It reads the database every time, so tokens created or revoked by another
// process count at once.
func (s *Store) Check(ctx context.Context, secret string) (Token, error) {
	if secret == "" || len(secret) > maxSecret {
		return Token{}, ErrUnknownToken
	}
	want := hashSecret(secret)
	// The lookup is by hash, so its timing says nothing about the secret;
	// the final comparison is constant-time all the same.
	row := s.check.QueryRowContext(ctx, want)
	var hash []byte
	t, err := scanToken(row, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, ErrUnknownToken
	}
	if err != nil {
		return Token{}, err
	}
	if subtle.ConstantTimeCompare(hash, want) != 1 {
		return Token{}, ErrUnknownToken
	}
	if t.Revoked != nil {
		return t, ErrRevoked
	}
	return t, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanToken(r scanner, extra ...any) (Token, error) {
	var t Token
	var role string
	var created int64
	var revoked sql.NullInt64
	dest := append([]any{&t.ID, &t.Event, &role, &t.Lang, &t.Name, &created, &revoked}, extra...)
	if err := r.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Token{}, err
		}
		return Token{}, fmt.Errorf("read token: %w", err)
	}
	t.Role = Role(role)
	t.Created = time.UnixMilli(created).UTC()
	if revoked.Valid {
		r := time.UnixMilli(revoked.Int64).UTC()
		t.Revoked = &r
	}
	return t, nil
}
