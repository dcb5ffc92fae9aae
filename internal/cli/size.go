package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ferry-cd/ferry/internal/untrusted"
)

// sizeFlag is a byte count given as 64MiB, 512KiB, 1GiB or plain bytes.
type sizeFlag int64

// minSize keeps a size flag from cutting logs to nothing.
const minSize = 1 << 10

func (s *sizeFlag) String() string { return untrusted.FormatSize(int64(*s)) }
func (s *sizeFlag) Type() string   { return "size" }

func (s *sizeFlag) Set(v string) error {
	num, shift := v, 0
	for _, u := range []struct {
		suffix string
		shift  int
	}{{"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"G", 30}, {"M", 20}, {"K", 10}, {"B", 0}} {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			num, shift = n, u.shift
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n < 0 || n > (1<<62)>>shift {
		return fmt.Errorf("want a size such as 64MiB, 512KiB or 1GiB, not %q", v)
	}
	if n<<shift < minSize {
		return fmt.Errorf("%q is less than %s", v, untrusted.FormatSize(minSize))
	}
	*s = sizeFlag(n << shift)
	return nil
}
