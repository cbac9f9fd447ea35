package web_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"tolk/captions/captionstest"
	"tolk/cmd/tolk/event"
	"tolk/internal/audio"
	"tolk/internal/store"
	"tolk/locales"
	"tolk/web"
)

// captionEvent serves an event whose floor (en, a tone) is recognized by a
// scripted recognizer, with one interpreted language fr and the captions
// section given; it is not started: the pages only ask what has captions.
func captionEvent(t *testing.T, captionsYAML string, tokens web.Tokens) *harness {
	t.Helper()
	floor := toneFile(t, 12000, 1.13, 20)
	cfg := eventConfig(t, `
id: test
title: Caption test
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 1000}
captions: %s
`, floor, captionsYAML)
	sec := int64(audio.SampleRate)
	rec := captionstest.NewScripted([]captionstest.ScriptedWord{{Text: "welcome", Start: sec, End: 2 * sec}})
	return serve(t, cfg, event.Options{Recognizer: rec}, web.Options{Tokens: tokens})
}

// eventInfo reads GET /api/events/test.
func eventInfo(t *testing.T, h *harness) web.EventInfo {
	t.Helper()
	var info web.EventInfo
	if err := json.Unmarshal([]byte(get(t, h.http.URL+"/api/events/test")), &info); err != nil {
		t.Fatal(err)
	}
	return info
}

type pickerReport struct {
	CaptionPicker []struct {
		Value, Label string
		Disabled     bool
	} `json:"caption_picker"`
	CaptionField struct {
		FieldVisible   bool   `json:"field_visible"`
		PickerVisible  bool   `json:"picker_visible"`
		NoteVisible    bool   `json:"note_visible"`
		Note           string `json:"note"`
		NoteAriaHidden bool   `json:"note_aria_hidden"`
		Aria           string `json:"aria"`
	} `json:"caption_field"`
	Keyboard *struct {
		Values      []string `json:"values"`
		CaptionLang string   `json:"caption_lang"`
	} `json:"keyboard"`
}

// TestBrowserWatchCaptionsUnavailable: in Chromium the watch page lists an
// audio language without captions as a disabled option that says so, which
// the keyboard passes over; an event without any captions says so in a
// sentence a screen reader is given.
func TestBrowserWatchCaptionsUnavailable(t *testing.T) {
	en := locales.Catalog("en")
	t.Run("fr without captions", func(t *testing.T) {
		leakCheck(t)
		h := captionEvent(t, "{languages: {fr: none}}", nil)
		info := eventInfo(t, h)
		if len(info.Captions) != 1 || info.Captions[0].Tag != "en" {
			t.Fatalf("caption languages %+v, want en only", info.Captions)
		}
		var frName string
		for _, r := range info.Renditions {
			if r.Tag == "fr" {
				frName = r.Name
			}
		}
		var rep pickerReport
		runBrowser(t, "watch_captions.mjs", &rep, h.http.URL, "--event", "test", "--picker-only", "--timeout", "30")
		var values []string
		for _, o := range rep.CaptionPicker {
			values = append(values, o.Value)
		}
		if !slices.Equal(values, []string{"", "en", "fr"}) {
			t.Fatalf("caption picker %+v, want Off, en, then fr", rep.CaptionPicker)
		}
		fr := rep.CaptionPicker[2]
		if want := strings.ReplaceAll(en["watch.captions.unavailable"], "{name}", frName); !fr.Disabled || fr.Label != want {
			t.Errorf("fr option %+v, want disabled and labelled %q", fr, want)
		}
		if rep.CaptionPicker[1].Disabled {
			t.Error("en, which has captions, is disabled")
		}
		f := rep.CaptionField
		if !f.FieldVisible || !f.PickerVisible || f.NoteVisible {
			t.Errorf("caption field %+v: want the picker, not the no-captions sentence", f)
		}
		// From Off the keyboard reaches en and stops there: fr cannot be chosen.
		if k := rep.Keyboard; k == nil || !slices.Equal(k.Values, []string{"en", "en", "en"}) || k.CaptionLang != "en" {
			t.Errorf("keyboard %+v, want en after each ArrowDown and en captions followed", k)
		}
	})
	t.Run("no captions", func(t *testing.T) {
		leakCheck(t)
		h := captionEvent(t, "{backend: none}", nil)
		if info := eventInfo(t, h); len(info.Captions) != 0 {
			t.Fatalf("caption languages %+v, want none", info.Captions)
		}
		var rep pickerReport
		runBrowser(t, "watch_captions.mjs", &rep, h.http.URL, "--event", "test", "--picker-only", "--timeout", "30")
		f := rep.CaptionField
		want := en["watch.captions.none"]
		if !f.FieldVisible || f.PickerVisible || !f.NoteVisible || f.Note != want {
			t.Errorf("caption field %+v, want only the sentence %q", f, want)
		}
		if f.NoteAriaHidden || !strings.Contains(f.Aria, want) {
			t.Errorf("the sentence is not in the accessibility tree (aria-hidden %v): %q", f.NoteAriaHidden, f.Aria)
		}
		if rep.Keyboard != nil {
			t.Errorf("a hidden picker was driven: %+v", rep.Keyboard)
		}
	})
}

type boothCaptionsReport struct {
	FloorCaptions struct {
		Shown       bool
		Lang        string
		None        bool
		NoteVisible bool `json:"note_visible"`
		Note        string
	} `json:"floor_captions"`
}

// TestBrowserBoothFloorCaptionsNote: the booth page in Chromium shows the
// floor's caption strip when the floor has captions, and a note in its place
// when it has none.
func TestBrowserBoothFloorCaptionsNote(t *testing.T) {
	t.Run("floor without captions", func(t *testing.T) {
		leakCheck(t)
		b := startBooths(t, "{tag: fr}") // captions: {backend: none}
		var rep boothCaptionsReport
		runBrowser(t, "booth.mjs", &rep, b.http.URL, "--event", "test", "--lang", "fr",
			"--token", b.token(t, "fr", "Anne"), "--listen", "0", "--timeout", "40")
		fc := rep.FloorCaptions
		if want := locales.Catalog("en")["booth.captions.none"]; !fc.Shown || !fc.None || !fc.NoteVisible || fc.Note != want || fc.Lang != "" {
			t.Errorf("floor captions %+v, want the strip with the note %q", fc, want)
		}
	})
	t.Run("floor with captions", func(t *testing.T) {
		leakCheck(t)
		st, err := store.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		h := captionEvent(t, "{languages: {fr: none}}", st)
		if err := h.ev.Start(); err != nil {
			t.Fatal(err)
		}
		b := &boothHarness{harness: h, store: st}
		var rep boothCaptionsReport
		runBrowser(t, "booth.mjs", &rep, b.http.URL, "--event", "test", "--lang", "fr",
			"--token", b.token(t, "fr", "Anne"), "--listen", "0", "--timeout", "40")
		fc := rep.FloorCaptions
		if !fc.Shown || fc.None || fc.NoteVisible || fc.Lang != "en" {
			t.Errorf("floor captions %+v, want the en strip without the note", fc)
		}
	})
}
