// Package fft is the radix-2 complex FFT that tolk's audio analysers share:
// the floor quality meter's spectrum (mixer) and the recognizer's noise
// suppressor (captions/sphinx). A Plan holds one size's tables; it is safe
// for concurrent use, as transforms work on the caller's slices.
package fft

import (
	"fmt"
	"math"
)

// Plan is the tables of one transform size.
type Plan struct {
	n        int
	rev      []int     // bit-reversed index of each position
	cos, sin []float64 // e^(-2πij/n) for j < n/2
}

// New returns the plan of size n, a power of two of at least 2. Sizes are
// the code's constants, so any other is a programming error: it panics.
func New(n int) *Plan {
	if n < 2 || n&(n-1) != 0 {
		panic(fmt.Sprintf("fft: size %d is not a power of two", n))
	}
	p := &Plan{n: n, rev: make([]int, n), cos: make([]float64, n/2), sin: make([]float64, n/2)}
	bits := 0
	for 1<<bits < n {
		bits++
	}
	for i := range p.rev {
		r := 0
		for b := range bits {
			r |= (i >> b & 1) << (bits - 1 - b)
		}
		p.rev[i] = r
	}
	for j := range p.cos {
		p.cos[j] = math.Cos(2 * math.Pi * float64(j) / float64(n))
		p.sin[j] = -math.Sin(2 * math.Pi * float64(j) / float64(n))
	}
	return p
}

// Len is the transform size.
func (p *Plan) Len() int { return p.n }

// Rev is where input i goes before Transform: callers that fill the
// arrays anyway (windowing, say) put sample i at Rev(i) and skip Permute.
func (p *Plan) Rev(i int) int { return p.rev[i] }

// Permute puts re+i·im, in natural order, into bit-reversed order.
func (p *Plan) Permute(re, im []float64) {
	for i, r := range p.rev {
		if i < r {
			re[i], re[r] = re[r], re[i]
			im[i], im[r] = im[r], im[i]
		}
	}
}

// Transform replaces re+i·im, given in bit-reversed order, by its DFT in
// natural order (decimation in time, in place). The inverse DFT times n is
// Transform with re and im swapped, the input permuted the same way.
func (p *Plan) Transform(re, im []float64) {
	n := p.n
	re, im = re[:n], im[:n]
	for size := 2; size <= n; size <<= 1 {
		half, step := size/2, n/size
		for start := 0; start < n; start += size {
			for j := range half {
				wr, wi := p.cos[j*step], p.sin[j*step]
				a, b := start+j, start+j+half
				tr := wr*re[b] - wi*im[b]
				ti := wr*im[b] + wi*re[b]
				re[b], im[b] = re[a]-tr, im[a]-ti
				re[a] += tr
				im[a] += ti
			}
		}
	}
}
