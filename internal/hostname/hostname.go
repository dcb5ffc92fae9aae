// Package hostname holds the rules for the host names environments claim on a shared listen address: which
// names are valid, how a request's Host is normalised, and when two claims overlap. The pipeline parser, the
// data plane and the proxy share them, so a name the file accepts is the name the proxy routes.
//
// It is pure: it imports no I/O package and nothing of ferry's.
package hostname

import (
	"fmt"
	"strings"
)

// MaxLen is the longest host name DNS allows (253 characters without the trailing dot).
const MaxLen = 253

// Check validates a host name as written in a pipeline file and returns it lower-cased: letters, digits and
// hyphens in dot-separated labels of 1 to 63 characters, no port, no trailing dot, and at most one wildcard
// level written "*." in front of a name of two labels or more. Names outside ASCII are written in their
// xn-- form (IDNA), which Check accepts like any other label.
func Check(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("host is empty")
	}
	name := strings.ToLower(s)
	if i := strings.LastIndexByte(name, ':'); i >= 0 || strings.HasPrefix(name, "[") {
		return "", fmt.Errorf("host %q has a port or is an IPv6 address; write the name alone, like shop.example.com (hosts match on the environment's listen port)", s)
	}
	if strings.HasSuffix(name, ".") {
		return "", fmt.Errorf("host %q ends with a dot; write it without, like %s", s, strings.TrimRight(name, "."))
	}
	rest := name
	if strings.HasPrefix(name, "*.") {
		rest = name[2:]
		if strings.Count(rest, ".") < 1 {
			return "", fmt.Errorf("wildcard host %q covers a whole top-level domain; name at least two labels after \"*.\", like *.example.com", s)
		}
	}
	if len(name) > MaxLen {
		return "", fmt.Errorf("host %.40q... is %d characters long; a host name has at most %d", s, len(name), MaxLen)
	}
	for _, label := range strings.Split(rest, ".") {
		if err := checkLabel(label); err != nil {
			return "", fmt.Errorf("host %q: %w", s, err)
		}
	}
	return name, nil
}

func checkLabel(l string) error {
	switch {
	case l == "":
		return fmt.Errorf("has an empty label (two dots in a row, or a leading dot)")
	case strings.Contains(l, "*"):
		return fmt.Errorf(`"*" is allowed only as the whole first label, like *.example.com`)
	case len(l) > 63:
		return fmt.Errorf("label %.20q... is longer than 63 characters", l)
	case l[0] == '-' || l[len(l)-1] == '-':
		return fmt.Errorf("label %q starts or ends with a hyphen", l)
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			if c >= 0x80 {
				return fmt.Errorf("label %q is not ASCII; write the name in its xn-- (IDNA) form", l)
			}
			return fmt.Errorf("label %q may hold only letters, digits and hyphens", l)
		}
	}
	return nil
}

// IsWildcard reports whether a checked name is a wildcard ("*.example.com").
func IsWildcard(name string) bool { return strings.HasPrefix(name, "*.") }

// Overlap reports whether two checked names can match one request: equal names, or a wildcard and a name
// one level below it. Two different wildcards never overlap (one level only).
func Overlap(a, b string) bool {
	if a == b {
		return true
	}
	return covers(a, b) || covers(b, a)
}

// covers reports whether wildcard w matches the plain name n.
func covers(w, n string) bool {
	if !IsWildcard(w) || IsWildcard(n) {
		return false
	}
	i := strings.IndexByte(n, '.')
	return i > 0 && n[i+1:] == w[2:]
}

// Match reports whether the checked name (a plain name or a wildcard) matches the normalised host h.
func Match(name, h string) bool { return name == h || covers(name, h) }

// FirstOverlap returns the first pair of names, one from each list, that overlap. An empty list claims every
// host, so it overlaps anything: then a or b is "" where the list was empty.
func FirstOverlap(as, bs []string) (a, b string, ok bool) {
	if len(as) == 0 || len(bs) == 0 {
		if len(as) > 0 {
			return as[0], "", true
		}
		if len(bs) > 0 {
			return "", bs[0], true
		}
		return "", "", true
	}
	for _, x := range as {
		for _, y := range bs {
			if Overlap(x, y) {
				return x, y, true
			}
		}
	}
	return "", "", false
}

// Normalize turns a request's Host header (or a TLS server name) into the form names are matched in: the
// port and a trailing dot removed, lower-cased. It returns "" for a host no environment could claim (longer
// than MaxLen), so a huge header costs no more than a short one. It allocates only when the host has upper
// case letters.
func Normalize(h string) string {
	if len(h) > MaxLen+7 { // a name, a dot and ":65535"
		return ""
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		if strings.HasPrefix(h, "[") { // an IPv6 literal: "[::1]:80" or "[::1]"
			if j := strings.IndexByte(h, ']'); j > 0 {
				h = h[:j+1]
			}
		} else {
			h = h[:i]
		}
	}
	h = strings.TrimSuffix(h, ".")
	if len(h) > MaxLen {
		return ""
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}
