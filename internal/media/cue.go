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
}
