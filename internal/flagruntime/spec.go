package flagruntime

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ferry-cd/ferry/internal/flags"
)

// ProgressiveSpec writes a flag's progressive rollout as the file declares it: "on 1%,10%,50%,100% every
// 10m0s", or "on experiment 50%". A flag rollout belongs to the spec that started it.
func ProgressiveSpec(p flags.Progressive) string {
	if p.Experiment {
		return fmt.Sprintf("%s experiment %s", p.Variant, percent(p.Steps[0]))
	}
	steps := make([]string, len(p.Steps))
	for i, bp := range p.Steps {
		steps[i] = percent(bp)
	}
	return fmt.Sprintf("%s %s every %s", p.Variant, strings.Join(steps, ","), p.Interval)
}

// GitVariant is the variant the release's file serves everyone for key, or "" when rules or a progressive
// rollout decide per subject.
func GitVariant(set *flags.Set, key string) string {
	res := set.Evaluate(key, nil, nil)
	if res.ErrorCode == "" && (res.Reason == flags.Static || res.Reason == flags.Disabled) {
		return res.Variant
	}
	return ""
}

// percent writes basis points as a percentage: 1000 is "10%", 1 is "0.01%".
func percent(bp int) string {
	return strings.TrimSuffix(strings.TrimRight(strconv.FormatFloat(float64(bp)/100, 'f', 2, 64), "0"), ".") + "%"
}
