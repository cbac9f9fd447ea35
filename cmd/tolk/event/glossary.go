package event

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"tolk/captions/glossary"
	"tolk/internal/config"
)

// SettingStore keeps an event's settings by name, as JSON, across restarts.
type SettingStore interface {
	EventSetting(ctx context.Context, event, name string) ([]byte, bool, error)
	SetEventSetting(ctx context.Context, event, name string, value []byte) error
	DeleteEventSetting(ctx context.Context, event, name string) error
}

// glossarySetting is the name the glossary is kept under.
const glossarySetting = "glossary"

// settingTimeout bounds reading the saved glossary while the event starts.
const settingTimeout = 10 * time.Second

// savedGlossary is the glossary the producer set in an earlier run when one
// was saved and is still valid, and configured otherwise.
func (e *Event) savedGlossary(configured glossary.Glossary) glossary.Glossary {
	if e.settings == nil {
		return configured
	}
	ctx, cancel := context.WithTimeout(context.Background(), settingTimeout)
	defer cancel()
	b, ok, err := e.settings.EventSetting(ctx, e.cfg.ID, glossarySetting)
	if err != nil {
		e.log.Warn("the saved glossary could not be read: starting from the configured one", "err", err)
		return configured
	}
	if !ok {
		return configured
	}
	var g glossary.Glossary
	if err = json.Unmarshal(b, &g); err != nil {
		err = fmt.Errorf("decode: %w", err)
	} else {
		err = g.Validate()
	}
	if err != nil {
		e.log.Warn("the saved glossary is not valid: starting from the configured one", "err", err)
		return configured
	}
	e.log.Info("glossary as the producer last set it, not as configured", "terms", len(g.Terms), "speakers", len(g.Speakers))
	return g
}

// SetGlossary validates g, saves it, so that a restart starts from it, and
// makes it the recognizers' glossary. Nothing changes when g is not valid
// or cannot be saved.
func (e *Event) SetGlossary(ctx context.Context, g glossary.Glossary) error {
	if err := g.Validate(); err != nil {
		return fmt.Errorf("glossary: %w", err)
	}
	e.glossaryMu.Lock()
	defer e.glossaryMu.Unlock()
	if e.settings != nil {
		b, err := json.Marshal(g)
		if err != nil {
			return fmt.Errorf("glossary: %w", err)
		}
		if err := e.settings.SetEventSetting(ctx, e.cfg.ID, glossarySetting, b); err != nil {
			return fmt.Errorf("save glossary: %w", err)
		}
	}
	return e.glossary.Set(g)
}

// ResetGlossary forgets the saved glossary and goes back to the configured
// one.
func (e *Event) ResetGlossary(ctx context.Context) error {
	e.glossaryMu.Lock()
	defer e.glossaryMu.Unlock()
	if e.settings != nil {
		if err := e.settings.DeleteEventSetting(ctx, e.cfg.ID, glossarySetting); err != nil {
			return fmt.Errorf("reset glossary: %w", err)
		}
	}
	return e.glossary.Set(e.configured)
}

// LoadGlossary is the event's vocabulary as configured: its words, with the
// background text read, checked by the glossary's rules.
func LoadGlossary(c config.Glossary) (glossary.Glossary, error) {
	text, err := c.ReadText()
	if err != nil {
		return glossary.Glossary{}, err
	}
	g := glossary.Glossary{Terms: c.Terms, Speakers: c.Speakers, Text: text}
	return g, g.Validate()
}

// CheckGlossary is the config.Check that lists what the glossary's rules
// find wrong with its words, one problem each, beside the configuration's
// own problems (a text file that cannot be read is one of those).
func CheckGlossary(ev *config.Event) []string {
	c := ev.Captions.Glossary
	// A text that cannot be read is the configuration's problem; the words
	// are checked all the same.
	text, _ := c.ReadText()
	g := glossary.Glossary{Terms: c.Terms, Speakers: c.Speakers, Text: text}
	var out []string
	for _, line := range splitJoined(g.Validate()) {
		out = append(out, "captions.glossary: "+line)
	}
	return out
}

// splitJoined lists the errors of an errors.Join, none for nil.
func splitJoined(err error) []string {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, splitJoined(e)...)
		}
		return out
	}
	return []string{err.Error()}
}
