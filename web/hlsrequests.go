package web

import (
	"sync/atomic"

	"tolk/web/hls"
)

// hlsRequests counts the HLS requests that reach this server for one event,
// live and recorded, by hls.RequestKind: behind a caching edge they grow with
// the number of objects, not of viewers (tolk_hls_requests_total).
type hlsRequests [len(hlsKinds)]atomic.Uint64

// hlsKinds are hls.RequestKinds in a fixed order.
var hlsKinds = [6]string(hls.RequestKinds)

// count counts one request for path, relative to the HLS root.
func (c *hlsRequests) count(path string) {
	k := hls.RequestKind(path)
	for i, name := range hlsKinds {
		if name == k {
			c[i].Add(1)
			return
		}
	}
}
