package media

// Cue is timed text on the program timeline: a caption, settled (Final) or
// the live partial line.
type Cue struct {
	Lang string `json:"lang"`
	// Start and End are program time (48 kHz samples since the event
	// started), or recording time once stored.
	Start int64  `json:"start"`
	End   int64  `json:"end"`
	Text  string `json:"text"` // lines separated by "\n"
	Final bool   `json:"final"`
	// MachineTranslated marks a cue that is the floor's, machine-translated
	// (a translated language's, or a fallback's while no interpreter was on
	// air). Live viewers see it marked, and the store keeps it for editors.
	MachineTranslated bool `json:"mt,omitempty"`
	// Confidence is how sure the recognizer was of the cue's words; nil
	// when it gave no confidence. It stays off the live wire: only the
	// store and the caption editor use it.
	Confidence *Confidence `json:"-"`
}

// Confidence is a recognizer's confidence in a cue, each figure 0..1.
type Confidence struct {
	// Mean is the mean of the words' confidences: how well the cue as a
	// whole was heard.
	Mean float32
	// Min is the lowest word's: one misheard word makes a cue wrong however
	// sure the others are, which the mean of a long cue hides.
	Min float32
	// Words holds one confidence per word of the cue's text (its
	// whitespace-separated fields, in order).
	Words []float32
}
