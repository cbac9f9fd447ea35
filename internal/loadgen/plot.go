package loadgen

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// Panel is one chart of a Plot: one or more series over the same x values,
// on their own y axis.
type Panel struct {
	Title  string
	YLabel string
	Series []Series
}

// Series is one line of a panel; Y has one value per x (NaN for none).
type Series struct {
	Name string
	Y    []float64
}

// Plot draws panels stacked over the shared x values as a PNG line chart
// with axes, tick labels, titles and a legend, with nothing but the
// standard library.
type Plot struct {
	Title  string
	XLabel string
	X      []float64
	Panels []Panel
}

const (
	plotW      = 960
	panelH     = 200
	marginL    = 90
	marginR    = 20
	titleLine  = 22
	panelGap   = 84
	fontScale  = 2
	glyphW     = 6 * fontScale // 5 pixels and a space
	glyphH     = 7 * fontScale
	tickLength = 5
)

var (
	colBG    = color.RGBA{255, 255, 255, 255}
	colAxis  = color.RGBA{0, 0, 0, 255}
	colGrid  = color.RGBA{225, 225, 225, 255}
	colText  = color.RGBA{20, 20, 20, 255}
	colLines = []color.RGBA{{31, 119, 180, 255}, {214, 39, 40, 255}, {44, 160, 44, 255}, {148, 103, 189, 255}, {255, 127, 14, 255}}
)

// WritePNG draws the plot to w.
func (p Plot) WritePNG(w io.Writer) error {
	title := wrap(p.Title, (plotW-marginL-marginR)/glyphW)
	titleH := 12 + len(title)*titleLine
	h := titleH + len(p.Panels)*(panelH+panelGap) + 10
	img := image.NewRGBA(image.Rect(0, 0, plotW, h))
	fill(img, img.Bounds(), colBG)
	for i, l := range title {
		text(img, marginL, 12+i*titleLine, l, colText)
	}
	xmin, xmax := bounds(p.X)
	for i, pn := range p.Panels {
		top := titleH + i*(panelH+panelGap) + 30
		area := image.Rect(marginL, top, plotW-marginR, top+panelH)
		p.panel(img, area, pn, xmin, xmax)
	}
	return png.Encode(w, img)
}

func (p Plot) panel(img *image.RGBA, area image.Rectangle, pn Panel, xmin, xmax float64) {
	title := pn.Title
	if pn.YLabel != "" {
		title += " (" + pn.YLabel + ")"
	}
	text(img, area.Min.X, area.Min.Y-20, title, colText)
	// Legend, right-aligned above the panel.
	lx := area.Max.X
	for k := len(pn.Series) - 1; k >= 0; k-- {
		s := pn.Series[k]
		lx -= textWidth(s.Name) + 28
		c := colLines[k%len(colLines)]
		fill(img, image.Rect(lx, area.Min.Y-14, lx+16, area.Min.Y-10), c)
		text(img, lx+20, area.Min.Y-20, s.Name, colText)
	}
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for _, s := range pn.Series {
		a, b := bounds(s.Y)
		ymin, ymax = math.Min(ymin, a), math.Max(ymax, b)
	}
	if math.IsInf(ymin, 0) {
		ymin, ymax = 0, 1
	}
	// Counts and sizes read best from zero.
	ymin = math.Min(ymin, 0)
	if ymax <= ymin {
		ymax = ymin + 1
	}
	ymax = niceCeil(ymax)
	// Grid and y ticks: five intervals.
	for k := 0; k <= 5; k++ {
		v := ymin + (ymax-ymin)*float64(k)/5
		y := area.Max.Y - int(float64(area.Dy())*float64(k)/5)
		hline(img, area.Min.X, area.Max.X, y, colGrid)
		hline(img, area.Min.X-tickLength, area.Min.X, y, colAxis)
		l := formatTick(v)
		text(img, area.Min.X-tickLength-4-textWidth(l), y-glyphH/2, l, colText)
	}
	// X ticks at round values, about eight of them.
	if xmax > xmin {
		step := niceCeil((xmax - xmin) / 8)
		for v := math.Ceil(xmin/step) * step; v <= xmax+step*1e-9; v += step {
			x := xpos(area, v, xmin, xmax)
			vline(img, x, area.Min.Y, area.Max.Y, colGrid)
			vline(img, x, area.Max.Y, area.Max.Y+tickLength, colAxis)
			l := formatTick(math.Round(v/step) * step)
			text(img, x-textWidth(l)/2, area.Max.Y+tickLength+3, l, colText)
		}
	}
	xl := p.XLabel
	text(img, area.Min.X+(area.Dx()-textWidth(xl))/2, area.Max.Y+tickLength+glyphH+10, xl, colText)
	hline(img, area.Min.X, area.Max.X, area.Max.Y, colAxis)
	vline(img, area.Min.X, area.Min.Y, area.Max.Y, colAxis)
	for k, s := range pn.Series {
		c := colLines[k%len(colLines)]
		var prev image.Point
		have := false
		for i, v := range s.Y {
			if i >= len(p.X) || math.IsNaN(v) || math.IsInf(v, 0) {
				have = false
				continue
			}
			pt := image.Pt(xpos(area, p.X[i], xmin, xmax), area.Max.Y-int(float64(area.Dy())*(v-ymin)/(ymax-ymin)))
			if have {
				line(img, prev, pt, c)
			}
			fill(img, image.Rect(pt.X-2, pt.Y-2, pt.X+3, pt.Y+3), c)
			prev, have = pt, true
		}
	}
}

func xpos(area image.Rectangle, x, xmin, xmax float64) int {
	if xmax <= xmin {
		return area.Min.X
	}
	return area.Min.X + int(float64(area.Dx())*(x-xmin)/(xmax-xmin))
}

func bounds(v []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*e+1e-9*e {
			return m * e
		}
	}
	return 10 * e
}

func formatTick(v float64) string {
	switch a := math.Abs(v); {
	case a < 1e-9:
		return "0"
	case a >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.3gK", v/1e3)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	default:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
}

// wrap splits s into lines of at most n characters at spaces.
func wrap(s string, n int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len([]rune(line))+1+len([]rune(w)) > n {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

func hline(img *image.RGBA, x0, x1, y int, c color.RGBA) {
	fill(img, image.Rect(x0, y, x1+1, y+1), c)
}

func vline(img *image.RGBA, x, y0, y1 int, c color.RGBA) {
	fill(img, image.Rect(x, y0, x+1, y1+1), c)
}

// line draws a two-pixel-wide segment (Bresenham).
func line(img *image.RGBA, a, b image.Point, c color.RGBA) {
	dx, dy := abs(b.X-a.X), -abs(b.Y-a.Y)
	sx, sy := sign(b.X-a.X), sign(b.Y-a.Y)
	e := dx + dy
	for {
		fill(img, image.Rect(a.X, a.Y, a.X+2, a.Y+2), c)
		if a == b {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			a.X += sx
		}
		if e2 <= dx {
			e += dx
			a.Y += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

func textWidth(s string) int { return len([]rune(s)) * glyphW }

// text draws s with the 5x7 font, scaled, its top-left corner at (x, y);
// characters the font lacks are drawn as '?'-less blanks.
func text(img *image.RGBA, x, y int, s string, c color.RGBA) {
	for _, r := range strings.ToUpper(s) {
		g, ok := glyphs[unicode.ToUpper(r)]
		if !ok {
			g = glyphs[' ']
		}
		for row, bits := range g {
			for col, b := range bits {
				if b == '#' {
					fill(img, image.Rect(x+col*fontScale, y+row*fontScale, x+(col+1)*fontScale, y+(row+1)*fontScale), c)
				}
			}
		}
		x += glyphW
	}
}
