package chart

import (
	"fmt"
	"strings"
)

// shade is a colour for light pages and its variant for dark ones.
type shade struct{ light, dark string }

// palette holds the charts' colours, from the Okabe–Ito set, which stays distinguishable with the common
// colour-vision deficiencies: the first pair, orange against blue, is canary against stable. The light shades
// keep at least 3:1 contrast on white, the dark ones on near-black. What has no colour of its own (text, axes,
// grid, bounds, bands, a rollout's weight) is drawn in the text's colour, so it follows the page's theme.
var palette = struct {
	series         []shade
	ok, fail, info shade
}{
	series: []shade{
		{"#D55E00", "#E69F00"}, // orange: series-0, the canary or the current window
		{"#0072B2", "#56B4E9"}, // blue: series-1, the stable or the previous window
		{"#009E73", "#2BBF94"}, // bluish green
		{"#CC79A7", "#E29BC4"}, // reddish purple
	},
	ok:   shade{"#007A5A", "#2BBF94"},
	fail: shade{"#C83E00", "#FF8A4C"},
	info: shade{"#0072B2", "#56B4E9"},
}

// Stylesheet returns the CSS for the classes charts use: the palette as custom properties (--chart-series-0,
// --chart-ok, ...), their dark variants under prefers-color-scheme: dark, and the rules that apply them. A page
// with its own dark theme overrides the properties. Serve it as a file or append it to the dashboard's
// stylesheet: the dashboard's Content-Security-Policy (style-src 'self') blocks an inline <style>.
func Stylesheet() string { return stylesheet }

var stylesheet = buildStylesheet()

func buildStylesheet() string {
	var light, dark, rules strings.Builder
	prop := func(name, selector string, s shade) {
		fmt.Fprintf(&light, "  --chart-%s: %s;\n", name, s.light)
		fmt.Fprintf(&dark, "    --chart-%s: %s;\n", name, s.dark)
		fmt.Fprintf(&rules, ".chart %s { color: var(--chart-%s); }\n", selector, name)
	}
	for i, s := range palette.series {
		name := fmt.Sprintf("series-%d", i)
		prop(name, "."+name, s)
	}
	for _, k := range []EventKind{EventOK, EventFail, EventInfo} {
		prop(k.String(), ".event."+k.String(), k.shade())
	}
	return "/* ferry charts: internal/ui/chart */\n:root {\n" + light.String() + "}\n" +
		"@media (prefers-color-scheme: dark) {\n  :root {\n" + dark.String() + "  }\n}\n" +
		".chart:not(.chart-sparkline) { display: block; max-width: 100%; height: auto; }\n" +
		".chart-sparkline { display: inline-block; vertical-align: middle; }\n" +
		rules.String()
}
