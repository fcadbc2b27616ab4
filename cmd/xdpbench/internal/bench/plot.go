package bench

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"strings"
)

// bar is one row of a panel.
type bar struct {
	label string
	value float64
	text  string // printed after the bar
	hi    bool   // xdpban's own bar
}

// panel is a horizontal bar chart with a title.
type panel struct {
	title string
	bars  []bar
	log   bool
}

var (
	colInk   = color.RGBA{0x20, 0x20, 0x20, 0xff}
	colGrey  = color.RGBA{0x70, 0x70, 0x70, 0xff}
	colBar   = color.RGBA{0x9a, 0xa8, 0xb8, 0xff}
	colXDP   = color.RGBA{0xd0, 0x5a, 0x1c, 0xff}
	colPaper = color.RGBA{0xff, 0xff, 0xff, 0xff}
)

// Plot reads a results JSON written by WriteJSON and draws its per-packet
// costs, flood rates with their ratios to XDP, and ban latencies as bar
// charts into a PNG at pngPath. Panels whose figures are missing are left
// out.
func Plot(jsonPath, pngPath string) error {
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	var doc struct {
		Machine Machine  `json:"machine"`
		Figures []Figure `json:"figures"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("plot: read %s: %w", jsonPath, err)
	}
	var panels []panel
	for _, p := range []panel{perPacketPanel(doc.Figures), floodPanel(doc.Figures), banLatencyPanel(doc.Figures)} {
		if len(p.bars) > 0 {
			panels = append(panels, p)
		}
	}
	if len(panels) == 0 {
		return fmt.Errorf("plot: no per-packet, flood or ban latency figures in %s", jsonPath)
	}
	m := doc.Machine
	title := fmt.Sprintf("xdpban benchmarks - %d CPUs (%s), Linux %s, %s", m.CPUs, m.CPUModel, m.Kernel, m.Date)
	img := render(title, panels)
	f, err := os.Create(pngPath)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("plot: %w", err)
	}
	return f.Close()
}

func perPacketPanel(figs []Figure) panel {
	p := panel{title: "Per-packet program cost, 10k bans (ns per packet, BPF_PROG_TEST_RUN)"}
	for _, f := range figs {
		if f.Group != groupPerPacket || f.Unit != "ns/pkt" || !strings.Contains(f.Name, "10k bans") {
			continue
		}
		label := strings.TrimSuffix(strings.TrimSuffix(f.Name, ", 10k bans"), " (10k bans run)")
		text := formatValue(f.Value, "ns")
		if r := find(figs, groupPerPacket, f.Name+" / floor"); r != nil {
			text += fmt.Sprintf("  (%.1f× floor)", r.Value)
		}
		p.bars = append(p.bars, bar{label: label, value: f.Value, text: text, hi: !strings.HasPrefix(label, "floor")})
	}
	return p
}

func floodPanel(figs []Figure) panel {
	return panel{
		title: "SYN flood into a veth, 10k bans: packets handled per second (log scale)", log: true,
		bars: barsOf(figs, groupFlood, ": handled", "pkt/s", 1, func(name string) string {
			if r := find(figs, groupFlood, "XDP handles × "+name); r != nil {
				return "  (XDP " + formatValue(r.Value, "x") + ")"
			}
			return ""
		}),
	}
}

func banLatencyPanel(figs []Figure) panel {
	return panel{
		title: "Ban latency, 3rd failed handshake to ban in force: median (log scale, µs)", log: true,
		bars: barsOf(figs, groupBanLatency, ": median", "ns", 1e3, func(name string) string {
			var text string
			if p99 := find(figs, groupBanLatency, name+": p99"); p99 != nil {
				text += ", p99 " + formatValue(p99.Value, "ns")
			}
			if r := find(figs, groupBanLatency, name+" median / xdpban median"); r != nil {
				text += "  (" + formatValue(r.Value, "x") + " xdpban)"
			}
			return text
		}),
	}
}

// barsOf makes a bar of each figure of group whose name ends in suffix,
// labelled with the rest of the name, its length the value divided by div,
// its text the value in unit followed by more(label); xdpban's own bars
// stand out.
func barsOf(figs []Figure, group, suffix, unit string, div float64, more func(label string) string) []bar {
	var bars []bar
	for _, f := range figs {
		name, ok := strings.CutSuffix(f.Name, suffix)
		if f.Group != group || !ok {
			continue
		}
		text := formatValue(f.Value, unit) + more(name)
		bars = append(bars, bar{label: name, value: f.Value / div, text: text, hi: strings.HasPrefix(name, "xdpban")})
	}
	return bars
}

func find(figs []Figure, group, name string) *Figure {
	for i := range figs {
		if figs[i].Group == group && figs[i].Name == name {
			return &figs[i]
		}
	}
	return nil
}

// Layout, in pixels.
const (
	plotW    = 1700
	margin   = 24
	scale    = 2
	rowH     = 30
	barH     = 20
	labelW   = 58 * glyphW * scale // the longest label, truncated beyond
	textRoom = 46 * glyphW * scale // the value printed after the longest bar
)

func render(title string, panels []panel) *image.RGBA {
	h := margin*2 + 30
	for _, p := range panels {
		h += 40 + len(p.bars)*rowH + 20
	}
	img := image.NewRGBA(image.Rect(0, 0, plotW, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(colPaper), image.Point{}, draw.Src)
	drawText(img, margin, margin, scale, title, colInk)
	y := margin + 40
	for _, p := range panels {
		y = drawPanel(img, p, y)
	}
	return img
}

func drawPanel(img *image.RGBA, p panel, y int) int {
	drawText(img, margin, y, scale, p.title, colInk)
	y += 30
	x0 := margin + labelW + 10
	span := float64(plotW - x0 - textRoom - margin)
	maxV, minV := 0.0, math.Inf(1)
	for _, b := range p.bars {
		maxV = math.Max(maxV, b.value)
		if b.value > 0 {
			minV = math.Min(minV, b.value)
		}
	}
	// A log axis starts a decade below the smallest bar.
	base := math.Pow(10, math.Floor(math.Log10(minV))-1)
	length := func(v float64) int {
		if maxV <= 0 || v <= 0 {
			return 0
		}
		if p.log {
			return int(span * math.Log10(v/base) / math.Log10(maxV/base))
		}
		return int(span * v / maxV)
	}
	for _, b := range p.bars {
		label := b.label
		if max := labelW / (glyphW * scale); len([]rune(label)) > max {
			label = string([]rune(label)[:max-1]) + "."
		}
		drawText(img, x0-10-textWidth(label, scale), y+3, scale, label, colInk)
		c := colBar
		if b.hi {
			c = colXDP
		}
		l := max(length(b.value), 2)
		draw.Draw(img, image.Rect(x0, y, x0+l, y+barH), image.NewUniform(c), image.Point{}, draw.Src)
		drawText(img, x0+l+8, y+3, scale, b.text, colGrey)
		y += rowH
	}
	draw.Draw(img, image.Rect(x0-1, y-len(p.bars)*rowH-4, x0, y-rowH+barH+4), image.NewUniform(colInk), image.Point{}, draw.Src)
	return y + 20
}
