package sfu

import (
	"errors"
	"testing"
)

// FuzzJanusReply: whatever a Janus API (or something in its place)
// answers is read without a panic: an error answer is a *JanusError, a
// plugin's answer yields its data or its error, a create answer a port in
// 1..65535 or none.
func FuzzJanusReply(f *testing.F) {
	for _, s := range []string{
		`{"janus":"success","transaction":"x","data":{"id":4242}}`,
		`{"janus":"error","error":{"code":458,"reason":"No such session"}}`,
		`{"janus":"error"}`,
		`{"janus":"success","plugindata":{"plugin":"janus.plugin.streaming","data":{"streaming":"created","created":"tolk fr","stream":{"id":7001,"type":"rtp","ports":[{"type":"audio","mid":"a","msindex":0,"port":20112}]}}}}`,
		`{"janus":"success","plugindata":{"data":{"error_code":456,"error":"A stream with the provided ID already exists"}}}`,
		`{"janus":"success","plugindata":{"data":{"stream":{"ports":[{"port":-1}]}}}}`,
		`{"janus":"event","plugindata":{"data":{"streaming":"event","result":{"status":"preparing"}}},"jsep":{"type":"offer","sdp":"v=0"}}`,
		`{"janus":"ack"}`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r janusReply
		err := parseReply(b, &r)
		var je *JanusError
		if err != nil && r.Janus == "error" && !errors.As(err, &je) {
			t.Fatalf("an error answer gave %v", err)
		}
		if err != nil {
			return
		}
		data, err := pluginData(&r)
		if err != nil && !errors.As(err, &je) {
			t.Fatalf("plugin error %v", err)
		}
		if p, ok := createdPort(data); ok && (p < 1 || p > 65535) {
			t.Fatalf("port %d", p)
		}
	})
}
