package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"tolk/internal/audio"
)

// liveCue is one message of the live captions WebSocket.
type liveCue struct {
	Type  string  `json:"type"` // "partial" (replaced by the next) or "cue" (settled)
	Lang  string  `json:"lang"`
	Start float64 `json:"start"` // program time, seconds
	End   float64 `json:"end"`
	Text  string  `json:"text"`
	// MT marks a cue that is the floor's, machine-translated.
	MT bool `json:"mt,omitempty"`
}

// handleLiveCaptions streams a language's captions as they are recognized:
// GET /api/events/{event}/captions/live/{lang} (WebSocket). Viewers of a
// public event need nothing, of a closed one access (viewerAccess); revoking
// the token a socket came with closes it (4003). Pages read nothing but the
// close.
func (s *Server) handleLiveCaptions(w http.ResponseWriter, r *http.Request) {
	st, grant, ok := s.viewer(w, r)
	if !ok {
		return
	}
	lang := r.PathValue("lang")
	feed, ok := st.ev.CaptionFeed(lang)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("event %q has no captions in %q", st.ev.ID(), lang))
		return
	}
	ws, closed, end, ok := s.pushSocket(w, r)
	if !ok {
		return
	}
	defer end()
	defer s.holdViewer(grant, func() { revoked(ws) })()
	sub := feed.Cues().Read("live captions", 64)
	defer sub.Close()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case c, ok := <-sub.C:
			if !ok {
				_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "ended"), time.Now().Add(time.Second))
				<-closed
				return
			}
			typ := "partial"
			if c.Final {
				typ = "cue"
			}
			_ = ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if err := ws.WriteJSON(liveCue{Type: typ, Lang: c.Lang, Start: seconds(c.Start), End: seconds(c.End), Text: c.Text,
				MT: c.MachineTranslated}); err != nil {
				ws.Close()
				<-closed
				return
			}
		case <-ping.C:
			if err := ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second)); err != nil {
				ws.Close()
				<-closed
				return
			}
		case <-closed:
			return
		}
	}
}

func seconds(pts int64) float64 { return float64(pts) / audio.SampleRate }

// serveSubtitles routes "subs/{lang}/…" below an event's HLS root to that
// language's WebVTT rendition; false when the path is not a subtitle path.
func (s *Server) serveSubtitles(w http.ResponseWriter, r *http.Request, st *eventState, rest string) bool {
	p, ok := strings.CutPrefix(rest, "subs/")
	if !ok {
		return false
	}
	lang, file, _ := strings.Cut(p, "/")
	subs, ok := st.ev.Subtitles(lang)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no captions in %q", lang))
		return true
	}
	subs.ServeHTTP(w, withPath(r, "/"+file))
	return true
}
