package sphinx

/*
#cgo pkg-config: pocketsphinx
#include <stdlib.h>
#include <malloc.h>
#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <sphinxbase/ngram_model.h>

// Library messages go nowhere: the log callback is process-wide and a file
// handle swapped under a decoding thread would be unsafe.
static void tolk_ps_discard(void *user, err_lvl_t lvl, const char *fmt, ...) {}

static void tolk_ps_quiet(void) { err_set_callback(tolk_ps_discard, NULL); }

// tolk_ps_new makes a decoder from command-line style arguments (cmd_ln_init
// is variadic, which cgo cannot call).
static ps_decoder_t *tolk_ps_new(int argc, char **argv) {
	cmd_ln_t *cfg = cmd_ln_parse_r(NULL, ps_args(), argc, argv, TRUE);
	if (cfg == NULL) return NULL;
	ps_decoder_t *ps = ps_init(cfg);
	cmd_ln_free_r(cfg);
	return ps;
}

// The generic model's search, made by ps_init from -lm.
#define TOLK_GENERIC "_default"
#define TOLK_EVENT "glossary"

// tolk_ps_generic returns the generic model, retained: the decoder keeps it
// through every change of search.
static ngram_model_t *tolk_ps_generic(ps_decoder_t *ps) {
	ngram_model_t *m = ps_get_lm(ps, TOLK_GENERIC);
	return m ? ngram_model_retain(m) : NULL;
}

// tolk_ps_unset_lms removes every n-gram search. ps_add_word adds a new word
// to the model of every n-gram search, and sphinxbase's trie models (the
// binary en-us.lm.bin) then score it out of their bounds and crash: words
// are added while no search holds a model.
static void tolk_ps_unset_lms(ps_decoder_t *ps) {
	ps_unset_search(ps, TOLK_GENERIC);
	ps_unset_search(ps, TOLK_EVENT);
}

// tolk_ps_use makes a search of lm, built with the current dictionary, the
// decoder's search.
static int tolk_ps_use(ps_decoder_t *ps, ngram_model_t *lm) {
	if (ps_set_lm(ps, TOLK_EVENT, lm) < 0) return -1;
	return ps_set_search(ps, TOLK_EVENT);
}

// tolk_ps_set_event_lm interpolates the generic model with the event's ARPA
// model and makes the mix the decoder's search. Both share the decoder's
// log-math, which ngram_model_set_init requires.
static int tolk_ps_set_event_lm(ps_decoder_t *ps, ngram_model_t *generic, const char *arpa, float gw, float ew) {
	ngram_model_t *ev = ngram_model_read(NULL, arpa, NGRAM_ARPA, logmath_retain(ps_get_logmath(ps)));
	if (ev == NULL) return -2;
	ngram_model_t *models[2] = {ngram_model_retain(generic), ev};
	char *names[2] = {"generic", "event"};
	float32 w[2] = {gw, ew};
	cmd_ln_t *cfg = ps_get_config(ps);
	ngram_model_t *set = ngram_model_set_init(cfg, models, names, w, 2);
	if (set == NULL) {
		ngram_model_free(models[0]);
		ngram_model_free(ev);
		return -3;
	}
	// The decoder's language weight and word insertion penalty (-lw 6.5,
	// -wip 0.65), which ngram_model_read applied to the generic model: a set
	// starts without them, and the search would then weigh the language
	// model 6.5 times less than the acoustics.
	ngram_model_apply_weights(set, cmd_ln_float32_r(cfg, "-lw"), cmd_ln_float32_r(cfg, "-wip"));
	int rv = tolk_ps_use(ps, set);
	ngram_model_free(set);
	return rv < 0 ? -4 : 0;
}

// tolk_arpa_prob reads an ARPA file with sphinxbase and returns P(w|h) (h
// NULL: the unigram), or -1 when the file does not load.
static double tolk_arpa_prob(const char *arpa, const char *w, const char *h) {
	logmath_t *lm = logmath_init(1.0001, 0, 0);
	ngram_model_t *m = ngram_model_read(NULL, arpa, NGRAM_ARPA, lm);
	if (m == NULL) return -1;
	int32 s = h ? ngram_probv(m, w, h, NULL) : ngram_probv(m, w, NULL);
	double p = logmath_exp(lm, s);
	ngram_model_free(m);
	return p;
}

static double tolk_ps_posterior(ps_decoder_t *ps, int32 logp) {
	return logmath_exp(ps_get_logmath(ps), logp);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"tolk/captions/glossary"
)

// searchArgs tune the decoder's search (PocketSphinx's flags).
//
// -fwdflat no: the second, flat-lexicon pass runs over the whole utterance
// when it ends, in one go. On this model it changed no word of the fixtures'
// finals (docs/benchmarks.md, "Partial line on screen") but cost 30 % of the
// decoding CPU, and its burst at each utterance end (up to 0.9 s on a loaded
// machine) held up the audio behind it: the partial lines of the next
// utterance's first words came that much later.
var searchArgs = []string{"-fwdflat", "no"}

// frameSamples16 is one decoder frame (10 ms) at 16 kHz.
const frameSamples16 = 160

var (
	quietOnce sync.Once
	// initMu serialises decoder creation: ps_init touches the library's
	// process-wide log state.
	initMu sync.Mutex
)

// decoder is one PocketSphinx decoder. It is not safe for concurrent use.
type decoder struct {
	ps *C.ps_decoder_t
	// generic is the model the decoder was created with, retained.
	generic *C.ngram_model_t
	// adapted is set while a search other than the generic one is on.
	adapted bool
	// display maps a recognized word to the glossary's spelling of it
	// (names with their capitals); nil with the generic model.
	display map[string]string
	// adaptErr is why the glossary given at creation did not load: the
	// decoder runs with the generic model then.
	adaptErr error
}

// segment is one word of a hypothesis in decoder frames since stream start.
type segment struct {
	word       string
	start, end int // frames, end inclusive
	posterior  float64
}

func newDecoder(m ModelDir, postSpeechFrames int, extra []string, g *glossary.Glossary) (*decoder, error) {
	quietOnce.Do(func() { C.tolk_ps_quiet() })
	args := append([]string{"-hmm", m.Acoustic, "-lm", m.LM, "-dict", m.Dict,
		"-vad_postspeech", strconv.Itoa(postSpeechFrames), "-logfn", "/dev/null"}, searchArgs...)
	args = append(args, extra...)
	argv := (**C.char)(C.malloc(C.size_t(len(args)) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	cargs := unsafe.Slice(argv, len(args))
	for i, a := range args {
		cargs[i] = C.CString(a)
	}
	defer func() {
		for _, a := range cargs {
			C.free(unsafe.Pointer(a))
		}
		C.free(unsafe.Pointer(argv))
	}()
	initMu.Lock()
	ps := C.tolk_ps_new(C.int(len(args)), argv)
	initMu.Unlock()
	if ps == nil {
		return nil, fmt.Errorf("sphinx: cannot load model (acoustic %q, lm %q, dict %q, options %q)", m.Acoustic, m.LM, m.Dict, extra)
	}
	d := &decoder{ps: ps, generic: C.tolk_ps_generic(ps)}
	if d.generic == nil {
		d.free()
		return nil, errors.New("sphinx: the decoder has no n-gram model")
	}
	if g != nil {
		d.adaptErr = d.adapt(*g)
	}
	if C.ps_start_stream(ps) < 0 || C.ps_start_utt(ps) < 0 {
		d.free()
		return nil, errors.New("sphinx: cannot start the decoder")
	}
	return d, nil
}

func (d *decoder) free() {
	if d.ps == nil && d.generic == nil {
		return
	}
	if d.ps != nil {
		C.ps_free(d.ps)
		d.ps = nil
	}
	if d.generic != nil {
		C.ngram_model_free(d.generic)
		d.generic = nil
	}
	// A decoder is some 90 MB of malloc (the en-US model), loaded on
	// whichever thread the Go scheduler ran the call on, and so often in a
	// glibc arena of its own. Freed, that memory stays in the arena and in
	// the process's RSS: every restart of a caption stream (a hung decoder
	// on a starved machine) added ~90 MB until the arenas ran out. Giving
	// the free pages back here keeps RSS at about one decoder (see the
	// soak in docs/benchmarks.md).
	C.malloc_trim(0)
}

// process decodes 16 kHz samples.
func (d *decoder) process(pcm []int16) error {
	if len(pcm) == 0 {
		return nil
	}
	if C.ps_process_raw(d.ps, (*C.int16)(unsafe.Pointer(&pcm[0])), C.size_t(len(pcm)), 0, 0) < 0 {
		return errors.New("sphinx: decoding failed")
	}
	return nil
}

// inSpeech reports whether the last processed audio held speech.
func (d *decoder) inSpeech() bool { return C.ps_get_in_speech(d.ps) != 0 }

// endUtt closes the utterance so its hypothesis becomes final.
func (d *decoder) endUtt() error {
	if C.ps_end_utt(d.ps) < 0 {
		return errors.New("sphinx: ending the utterance failed")
	}
	return nil
}

// startUtt opens the next utterance.
func (d *decoder) startUtt() error {
	if C.ps_start_utt(d.ps) < 0 {
		return errors.New("sphinx: starting an utterance failed")
	}
	return nil
}

// hyp returns the current best hypothesis text, raw (with fillers).
func (d *decoder) hyp() string {
	var score C.int32
	h := C.ps_get_hyp(d.ps, &score)
	if h == nil {
		return ""
	}
	return C.GoString(h)
}

// segments returns the words of the current best hypothesis; withPosterior
// computes word posteriors (only meaningful after the utterance ended).
func (d *decoder) segments(withPosterior bool) []segment {
	if withPosterior {
		C.ps_get_prob(d.ps)
	}
	var segs []segment
	for it := C.ps_seg_iter(d.ps); it != nil; it = C.ps_seg_next(it) {
		var sf, ef C.int
		C.ps_seg_frames(it, &sf, &ef)
		s := segment{word: C.GoString(C.ps_seg_word(it)), start: int(sf), end: int(ef)}
		if withPosterior {
			var ascr, lscr, lback C.int32
			p := C.ps_seg_prob(it, &ascr, &lscr, &lback)
			s.posterior = float64(C.tolk_ps_posterior(d.ps, p))
		}
		segs = append(segs, s)
	}
	return segs
}

// cleanWord strips alternate-pronunciation marks and drops fillers: "(2)",
// "<sil>", "<s>", "</s>", "[NOISE]", "++UH++".
func cleanWord(w string) string {
	w = strings.TrimSpace(w)
	if i := strings.IndexByte(w, '('); i > 0 && strings.HasSuffix(w, ")") {
		w = w[:i]
	}
	if w == "" || strings.HasPrefix(w, "<") || strings.HasPrefix(w, "[") || strings.HasPrefix(w, "++") {
		return ""
	}
	return w
}

// Interpolation weights of the generic and the event language model. The
// event model is learnt from a few kilobytes of agenda and names: it knows
// the event's words but little of everyday English, so the generic model
// keeps most of the weight; 0.3 gives a name the event model has seen a
// probability within an order of magnitude of a common word, which is what
// makes it win against the generic model's near-homophones.
// (TestGlossaryWeights measures other mixes; docs/benchmarks.md.)
var (
	genericWeight = 0.7
	eventWeight   = 0.3
)

// maxNewWords bounds the words one glossary adds to the dictionary: their
// letter-to-sound and the search's rebuild happen between two utterances
// while audio waits in the stream's 5 s queue, and 2000 unknown words take
// about 1 s of that (docs/benchmarks.md, "Glossary").
const maxNewWords = 2000

// adapt makes the decoder recognize g: words missing from the dictionary are
// added with their pronunciations (CMUdict's, found case-folded, else
// letter-to-sound; for a name in another Latin spelling also its reading
// by that language's rules: pronunciations), and the search becomes the generic model interpolated
// with a bigram model of g. An empty g goes back to the generic model. It
// must run between utterances.
func (d *decoder) adapt(g glossary.Glossary) error {
	if g.Empty() {
		if !d.adapted {
			return nil
		}
		return d.useGeneric()
	}
	// The terms' and names' words first: when a text brings more unknown
	// words than maxNewWords, those of the text are the ones left out.
	var ordered []string
	for _, list := range [][]string{g.Terms, g.Speakers} {
		for _, e := range list {
			ordered = append(ordered, glossary.Words(e)...)
		}
	}
	ordered = append(ordered, g.Vocabulary()...)
	var missing []string
	seen := map[string]bool{}
	for _, w := range ordered {
		if seen[w] || len(missing) >= maxNewWords {
			continue
		}
		seen[w] = true
		if _, ok := d.lookup(w); !ok {
			missing = append(missing, w)
		}
	}
	prons := pronunciations(missing, d.lookup)
	isNew := make(map[string]bool, len(missing))
	for _, w := range missing {
		isNew[w] = true
	}
	// Names as the producer writes them; a term's word only when it is new
	// to the dictionary ("Zyphrex", not the "Clean" of "Clean Energy").
	d.display = g.Spellings(func(w string) bool { return isNew[w] })
	C.tolk_ps_unset_lms(d.ps)
	d.adapted = true
	for _, w := range missing {
		for i, p := range prons[w] {
			name := w
			if i > 0 { // an alternative: the base word is in by now
				name = fmt.Sprintf("%s(%d)", w, i+1)
			}
			cw, cp := C.CString(name), C.CString(p)
			// No update: the search is made afresh below, with the whole
			// dictionary.
			rv := C.ps_add_word(d.ps, cw, cp, 0)
			C.free(unsafe.Pointer(cw))
			C.free(unsafe.Pointer(cp))
			if rv < 0 {
				break // an alternative without its base word would abort the library
			}
		}
	}
	f, err := os.CreateTemp("", "tolk-glossary-*.arpa")
	if err == nil {
		defer os.Remove(f.Name())
		err = glossary.WriteARPA(f, g.Sentences())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return errors.Join(fmt.Errorf("sphinx: glossary model: %w", err), d.useGeneric())
	}
	path := C.CString(f.Name())
	defer C.free(unsafe.Pointer(path))
	if rv := C.tolk_ps_set_event_lm(d.ps, d.generic, path, C.float(genericWeight), C.float(eventWeight)); rv < 0 {
		return errors.Join(fmt.Errorf("sphinx: cannot load the glossary's language model (%d)", int(rv)), d.useGeneric())
	}
	return nil
}

// useGeneric makes a search of the generic model alone the decoder's, with
// the dictionary as it now is.
func (d *decoder) useGeneric() error {
	C.tolk_ps_unset_lms(d.ps)
	if C.tolk_ps_use(d.ps, d.generic) < 0 {
		return errors.New("sphinx: cannot go back to the generic language model")
	}
	d.adapted = false
	d.display = nil
	return nil
}

// lookup returns the dictionary's pronunciation of word, if it has one.
func (d *decoder) lookup(word string) (string, bool) {
	cw := C.CString(word)
	defer C.free(unsafe.Pointer(cw))
	p := C.ps_lookup_word(d.ps, cw)
	if p == nil {
		return "", false
	}
	defer C.free(unsafe.Pointer(p))
	return C.GoString(p), true
}

// arpaProb reads an ARPA file with sphinxbase and returns P(w|h), or P(w)
// when h is empty: it proves the file is one Sphinx loads, with the
// probabilities meant.
func arpaProb(path, w, h string) (float64, error) {
	cp, cw := C.CString(path), C.CString(w)
	defer C.free(unsafe.Pointer(cp))
	defer C.free(unsafe.Pointer(cw))
	var ch *C.char
	if h != "" {
		ch = C.CString(h)
		defer C.free(unsafe.Pointer(ch))
	}
	p := float64(C.tolk_arpa_prob(cp, cw, ch))
	if p < 0 {
		return 0, fmt.Errorf("sphinx: %s does not load", path)
	}
	return p, nil
}
