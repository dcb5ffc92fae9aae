package flags

import "strings"

// version is a semantic version (semver.org 2.0.0) for the semver_* operators. Build metadata is dropped:
// it has no part in precedence.
type version struct {
	major, minor, patch uint64
	// pre is the pre-release ("rc.1" of "1.0.0-rc.1"), without its "-"; "" for a release.
	pre string
}

// parseVersion reads "MAJOR.MINOR.PATCH[-PRE][+BUILD]", with an optional "v" or "V" in front. partial
// also accepts "MAJOR" and "MAJOR.MINOR" (as .0), without pre-release or build: attributes sent by apps
// are read that way, as flagd does, while a version written in a flags file must be complete.
// It does not allocate: pre is a substring of s.
func parseVersion(s string, partial bool) (version, bool) {
	var v version
	if len(s) > 0 && (s[0] == 'v' || s[0] == 'V') {
		s = s[1:]
	}
	var parts [3]uint64
	n := 0
	for n < 3 {
		num, rest, ok := numericIdent(s)
		if !ok {
			return v, false
		}
		parts[n], s = num, rest
		n++
		if n == 3 || s == "" || s[0] != '.' {
			break
		}
		s = s[1:]
	}
	if n < 3 && (!partial || s != "") {
		return v, false
	}
	v.major, v.minor, v.patch = parts[0], parts[1], parts[2]
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		end := strings.IndexByte(rest, '+')
		if end < 0 {
			end = len(rest)
		}
		v.pre, s = rest[:end], rest[end:]
		if !identifiers(v.pre, true) {
			return v, false
		}
	}
	if rest, ok := strings.CutPrefix(s, "+"); ok {
		if !identifiers(rest, false) {
			return v, false
		}
		s = ""
	}
	return v, s == ""
}

// numericIdent reads the number at the start of s: digits without a leading zero, at most 19 of them so
// that it fits in a uint64.
func numericIdent(s string) (num uint64, rest string, ok bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 19 || (i > 1 && s[0] == '0') {
		return 0, s, false
	}
	for _, c := range []byte(s[:i]) {
		num = num*10 + uint64(c-'0')
	}
	return num, s[i:], true
}

// identifiers checks a dot-separated list of non-empty [0-9A-Za-z-] identifiers; in a pre-release
// (numeric true), numeric identifiers may not have leading zeros.
func identifiers(s string, numeric bool) bool {
	for {
		id, rest, more := strings.Cut(s, ".")
		if id == "" {
			return false
		}
		allDigits := true
		for i := 0; i < len(id); i++ {
			c := id[i]
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
				allDigits = false
			default:
				return false
			}
		}
		if numeric && allDigits && len(id) > 1 && id[0] == '0' {
			return false
		}
		if !more {
			return true
		}
		s = rest
	}
}

// compare returns -1, 0 or +1 as a has lower, equal or higher precedence than b.
func (a version) compare(b version) int {
	for _, d := range [3][2]uint64{{a.major, b.major}, {a.minor, b.minor}, {a.patch, b.patch}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	switch {
	case a.pre == b.pre:
		return 0
	case a.pre == "":
		return 1 // a release is above its pre-releases
	case b.pre == "":
		return -1
	}
	x, y := a.pre, b.pre
	for {
		xi, xrest, xmore := strings.Cut(x, ".")
		yi, yrest, ymore := strings.Cut(y, ".")
		if c := compareIdent(xi, yi); c != 0 {
			return c
		}
		switch {
		case !xmore && !ymore:
			return 0
		case !xmore:
			return -1 // fewer identifiers, all equal: lower
		case !ymore:
			return 1
		}
		x, y = xrest, yrest
	}
}

// compareIdent orders two pre-release identifiers: numbers numerically and below words, words in ASCII
// order. Numbers have no leading zeros, so the longer one is the larger.
func compareIdent(a, b string) int {
	an, bn := digits(a), digits(b)
	switch {
	case an && bn:
		if len(a) != len(b) {
			if len(a) < len(b) {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	case an:
		return -1
	case bn:
		return 1
	}
	return strings.Compare(a, b)
}
