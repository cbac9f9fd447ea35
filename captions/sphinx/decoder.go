package sphinx

/*
#cgo pkg-config: pocketsphinx
#include <stdlib.h>
#include <pocketsphinx.h>
#include <sphinxbase/err.h>

// Library messages go nowhere: the log callback is process-wide and a file
// handle swapped under a decoding thread would be unsafe.
static void tolk_ps_discard(void *user, err_lvl_t lvl, const char *fmt, ...) {}

static void tolk_ps_quiet(void) { err_set_callback(tolk_ps_discard, NULL); }

// cmd_ln_init is variadic, which cgo cannot call.
static ps_decoder_t *tolk_ps_new(const char *hmm, const char *lm, const char *dict,
                                 const char *postspeech) {
	cmd_ln_t *cfg = cmd_ln_init(NULL, ps_args(), TRUE,
		"-hmm", hmm, "-lm", lm, "-dict", dict,
		"-vad_postspeech", postspeech,
		"-logfn", "/dev/null", NULL);
	if (cfg == NULL) return NULL;
	ps_decoder_t *ps = ps_init(cfg);
	cmd_ln_free_r(cfg);
	return ps;
}

static double tolk_ps_posterior(ps_decoder_t *ps, int32 logp) {
	return logmath_exp(ps_get_logmath(ps), logp);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

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
}

// segment is one word of a hypothesis in decoder frames since stream start.
type segment struct {
	word       string
	start, end int // frames, end inclusive
	posterior  float64
}

func newDecoder(m ModelDir, postSpeechFrames int) (*decoder, error) {
	quietOnce.Do(func() { C.tolk_ps_quiet() })
	hmm, lm, dict := C.CString(m.Acoustic), C.CString(m.LM), C.CString(m.Dict)
	post := C.CString(strconv.Itoa(postSpeechFrames))
	defer func() {
		C.free(unsafe.Pointer(hmm))
		C.free(unsafe.Pointer(lm))
		C.free(unsafe.Pointer(dict))
		C.free(unsafe.Pointer(post))
	}()
	initMu.Lock()
	ps := C.tolk_ps_new(hmm, lm, dict, post)
	initMu.Unlock()
	if ps == nil {
		return nil, fmt.Errorf("sphinx: cannot load model (acoustic %q, lm %q, dict %q)", m.Acoustic, m.LM, m.Dict)
	}
	d := &decoder{ps: ps}
	if C.ps_start_stream(ps) < 0 || C.ps_start_utt(ps) < 0 {
		d.free()
		return nil, errors.New("sphinx: cannot start the decoder")
	}
	return d, nil
}

func (d *decoder) free() {
	if d.ps != nil {
		C.ps_free(d.ps)
		d.ps = nil
	}
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
