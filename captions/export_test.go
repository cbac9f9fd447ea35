package captions

// Writing tells the external tests whether a Write to the recognizer is in
// progress (the watchdog's view).
func Writing(p *Pipeline) bool { return p.writingSince.Load() != 0 }

// CheckCues holds the external tests' cues to the builder's rules.
var CheckCues = checkCues

// The supervision's timing, for the external tests.
const (
	StallAudio  = stallAudio
	WriteHang   = writeHang
	HangAudio   = hangAudio
	QueueFrames = queueFrames
)
